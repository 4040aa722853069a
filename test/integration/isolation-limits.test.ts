/**
 * One session never harms another (DESIGN.md, "One process, many sessions"):
 * limits pause accepting instead of dropping peers, shared addresses are
 * shared once, and a device an ending session holds does not refuse the next.
 */
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { ReadStream } from 'node:tty';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, connectPeers, freePort, stop, tempDir, waitFor, waitForPort } from '../helpers.js';
import { testPty } from '../pty-helpers.js';

const start = backgroundStarter();
const peers: Socket[] = [];
afterEach(() => {
  for (const s of peers.splice(0)) s.destroy();
});

const descriptorsOf = (pid: number | undefined) => readdirSync(`/proc/${pid}/fd`).length;

/** `n` idle peers, connected one after another (so the kernel's backlog holds them in this order). */
const idlePeers = (port: number, n: number) => connectPeers(port, n, peers);

/** Resolves with the time `text` came back on `s`; rejects if `s` closes first. */
function echoed(s: Socket, text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes(text)) resolve(Date.now());
    });
    s.once('close', () => reject(new Error(`closed before "${text}" came back (got ${JSON.stringify(got)})`)));
  });
}

const accepted = (stderr: string) => stderr.split('\n').filter((l) => l.includes(' N accepting connection from ')).length;

describe('limits pause accepting; peers wait in the backlog', () => {
  it('TCP-LISTEN:P,fork,max-children=10 PIPE under 500 idle peers holds 10 sessions, and the 11th peer is served once one ends', async () => {
    const port = await freePort();
    const p = start(['-d', '-d', `TCP-LISTEN:${port},fork,reuseaddr,max-children=10`, 'PIPE']);
    await waitForPort(port);
    const baseline = descriptorsOf(p.pid);
    const idle = await idlePeers(port, 500);
    await waitFor(() => accepted(p.errors()) >= 10, 10000, 'ten sessions');
    // an absence (no 11th accept) can only be watched for a while
    await new Promise((r) => setTimeout(r, 500));
    expect(accepted(p.errors())).toBe(10);
    // each session: its peer and PIPE's two ends (socat's parent holds 8 in all; Node itself starts with ~20)
    expect(descriptorsOf(p.pid)).toBeLessThanOrEqual(baseline + 10 * 3 + 2);

    const eleventh = idle[10] as Socket;
    const back = echoed(eleventh, 'ping\n');
    eleventh.write('ping\n');
    const freed = Date.now();
    (idle[0] as Socket).destroy();
    expect((await back) - freed).toBeLessThan(1000);
  }, 60000);

  it('near RLIMIT_NOFILE (64) with 200 idle peers: one W line naming the limit, a client during the flood is served when descriptors free, SIGTERM obeyed', async () => {
    const port = await freePort();
    const p = start(['-d', `TCP-LISTEN:${port},fork,reuseaddr`, 'PIPE'], { descriptorLimit: 64 });
    await waitForPort(port);
    const idle = await idlePeers(port, 200);
    const [client] = await idlePeers(port, 1);
    const back = echoed(client as Socket, 'hello\n');
    back.catch(() => {});
    (client as Socket).write('hello\n');
    await waitFor(() => / W .*RLIMIT_NOFILE 64/.test(p.errors()), 10000, 'the W line naming the limit');
    // Node's own server would accept and close at once on EMFILE: the client is still waiting, in the backlog
    expect((client as Socket).closed).toBe(false);
    expect(descriptorsOf(p.pid)).toBeLessThanOrEqual(64);

    const freed = Date.now();
    for (const s of idle) s.destroy();
    // ~190 closed peers ahead of it in the backlog are accepted and ended first: ~0.6 s here when idle, 1.6 s on a loaded machine
    expect((await back) - freed).toBeLessThan(2500);
    const warnings = p.errors().split('\n').filter((l) => / W /.test(l));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not accepting: \d+ of 64 descriptors open \(RLIMIT_NOFILE 64/);

    const asked = Date.now();
    await stop(p);
    expect(Date.now() - asked).toBeLessThan(1000);
  }, 60000);
});

describe('shared things are shared once', () => {
  /** 100 clients at once to `TCP-LISTEN:P,reuseaddr,fork STDOUT`, each sending one line and ending; stdout a file or a pipe. */
  it.for(['file', 'pipe'] as const)('STDOUT as a %s, 100 concurrent sessions: every line written, no Node warning', async (kind) => {
    const { dir, cleanup } = tempDir();
    try {
      const port = await freePort();
      const file = join(dir, 'out');
      const out = kind === 'file' ? openSync(file, 'w') : undefined;
      const p = start([`TCP-LISTEN:${port},reuseaddr,fork`, 'STDOUT'], { stdout: out });
      if (out !== undefined) closeSync(out);
      await waitForPort(port);
      const clients = await idlePeers(port, 100);
      const gone = clients.map((s) => new Promise((r) => s.once('close', r)));
      for (const [i, s] of clients.entries()) s.end(`line ${i}\n`);
      await Promise.all(gone);
      const written = () => (kind === 'file' ? readFileSync(file, 'utf8') : p.output());
      await waitFor(() => written().split('\n').length > 100, 10000, 'all 100 lines');
      expect(written().split('\n').filter(Boolean).sort()).toEqual([...Array(100).keys()].map((i) => `line ${i}`).sort());
      expect(p.errors()).not.toMatch(/Warning/);
    } finally {
      cleanup();
    }
  }, 60000);
});

describe('a device an ending session holds', () => {
  it('TCP-LISTEN:P,fork SERIAL:<pty>: a client reconnecting within 0.5 s, while the last session is in its close wait, is served', async () => {
    const pty = testPty();
    const line = new ReadStream(pty.master);
    let fromLine = '';
    line.on('data', (d: Buffer) => {
      fromLine += d.toString();
    });
    try {
      const port = await freePort();
      // -t 2: the first session surely still holds the line (and serialport's lock) when the client is back
      const p = start(['-d', '-d', '-t', '2', `TCP-LISTEN:${port},fork,reuseaddr`, `SERIAL:${pty.path},raw,echo=0`]);
      await waitForPort(port);
      const [first] = (await idlePeers(port, 1)) as [Socket];
      first.write('one\n');
      await waitFor(() => fromLine.includes('one\n'), 5000, '"one" on the line');
      first.end();
      const ended = Date.now();
      const [second] = (await idlePeers(port, 1)) as [Socket];
      expect(Date.now() - ended).toBeLessThan(500);
      const back = echoed(second, 'back\n');
      back.catch(() => {});
      second.write('two\n');
      await waitFor(() => fromLine.includes('two\n'), 5000, `"two" on the line ${p.errors()}`);
      writeSync(pty.master, 'back\n');
      await back;
    } finally {
      line.destroy();
      closeSync(pty.slave);
    }
  }, 30000);
});
