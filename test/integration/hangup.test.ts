/**
 * A terminal that hangs up under tsocat (the ssh session or terminal window
 * closed): tsocat ends instead of spinning. Node 20 aborts in its exit-time
 * terminal reset when the terminal is gone and then loops in its crash
 * handler at full CPU, unkillable by SIGTERM (src/cli/exit.ts).
 */
import { createRequire } from 'node:module';
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TSOCAT, waitFor } from '../helpers.js';

const nodePty = createRequire(import.meta.url)('@lydell/node-pty') as typeof import('@lydell/node-pty');
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanups.splice(0)) f();
});

describe('the terminal hangs up', () => {
  for (const address of ['STDIO', 'READLINE']) {
    it(`${address}: tsocat on a pty whose terminal closes ends (it does not spin)`, async () => {
      let peer: Socket | undefined;
      const got: Buffer[] = [];
      const server = createServer((s) => {
        peer = s;
        s.on('data', (d) => got.push(d));
        s.on('error', () => {});
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      cleanups.push(() => server.close());
      const port = (server.address() as { port: number }).port;
      const term = nodePty.spawn(process.execPath, [TSOCAT, address, `TCP:127.0.0.1:${port}`], { cols: 80, rows: 24, env: process.env as Record<string, string> });
      cleanups.push(() => {
        try {
          process.kill(term.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      });
      let exited = false;
      term.onExit(() => {
        exited = true;
      });
      await waitFor(() => peer !== undefined, 10000);
      term.write('hello\r');
      await waitFor(() => Buffer.concat(got).toString().includes('hello'), 10000);
      // the terminal goes away: close the master side
      term.destroy();
      await waitFor(() => {
        try {
          process.kill(term.pid, 0);
          return exited;
        } catch {
          return true;
        }
      }, 10000);
      expect(() => process.kill(term.pid, 0)).toThrow();
    });
  }
});
