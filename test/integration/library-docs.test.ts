/**
 * docs/library.md's examples run: the Node program (with this test's ports)
 * forwards and stops on SIGINT with status 0; the vitest block is
 * test/integration/library-example.test.ts, word for word.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exited, freePort, ROOT, stop, tcpExchange, tempDir, waitForPort } from '../helpers.js';
import { echoServer } from '../socket-helpers.js';

function libraryBlock(id: string): string {
  const doc = readFileSync(join(ROOT, 'docs', 'library.md'), 'utf8');
  const m = doc.match(new RegExp(`<!-- library: ${id} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``));
  if (!m) throw new Error(`docs/library.md has no "${id}" example`);
  return m[1] as string;
}

const cleanups: Array<() => Promise<void> | void> = [];

/** The program example with the library's path and `[from, to]` text swaps, run by node; stopped after the test. */
function startProgram(swaps: Array<[string, string]>): { child: ReturnType<typeof spawn>; stderr: () => string } {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  let program = libraryBlock('program').replace("from 'tsocat'", `from ${JSON.stringify(join(ROOT, 'dist', 'src', 'index.js'))}`);
  for (const [from, to] of swaps) program = program.replaceAll(from, to);
  // TypeScript without types: Node runs it as a module
  writeFileSync(join(dir, 'forward.mjs'), program);
  const child = spawn(process.execPath, [join(dir, 'forward.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => void stop(child));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return { child, stderr: () => stderr };
}
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('docs/library.md', () => {
  it('the vitest example is test/integration/library-example.test.ts (which runs with the suite)', () => {
    const file = readFileSync(join(ROOT, 'test', 'integration', 'library-example.test.ts'), 'utf8');
    expect(libraryBlock('vitest')).toBe(file.replace("from '../../src/index.js'", "from 'tsocat'"));
  });

  it('the Node program forwards every client to the server, and SIGINT ends it with status 0', async () => {
    const server = await echoServer();
    cleanups.push(() => server.close());
    const port = await freePort();
    const { child, stderr } = startProgram([
      ['4545', String(port)],
      ['8080', String(server.port)],
    ]);
    await waitForPort(port);
    expect((await tcpExchange(port, 'one\n', { halfClose: true })).toString()).toBe('one\n');
    expect((await tcpExchange(port, 'two\n', { halfClose: true })).toString()).toBe('two\n');
    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
    expect(stderr()).toBe('');
  });

  it('the Node program reports a port in use as a TsocatError and exits 1', async () => {
    const server = await echoServer();
    cleanups.push(() => server.close());
    // the listening port is the server's own (and without reuseaddr): bind fails
    const { child, stderr } = startProgram([
      ['4545,reuseaddr', String(server.port)],
      ['8080', String(server.port)],
    ]);
    expect(await exited(child)).toBe(1);
    expect(stderr()).toMatch(/^bind\(.*\): Address already in use\n$/);
  });
});
