/**
 * `reconnect` on TCP (issue 21, item 3): a virtual serial port over TCP that
 * survives the network. `PTY,link=L,raw TCP:127.0.0.1:P,reconnect` while a
 * pyserial program holds L open and keeps writing, and the test's TCP server
 * goes away and comes back three times: the program never sees an error, and
 * every byte arrives once, in order (bounded buffer), or what was written
 * while disconnected is dropped and logged (reconnect-buffer=0).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, PYTHON_WITH_SERIAL, requireOrSkip, startTsocat, stop, tempDir, waitFor } from '../helpers.js';
import { waitForPath } from '../pty-helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A stream server on a fixed TCP port or UNIX path that can go away gracefully (FIN, then reads to the end) and come back. */
class FlakyServer {
  received = '';
  connections = 0;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  constructor(private readonly at: { port: number } | { path: string }) {}

  async up(): Promise<void> {
    const server = createServer((s) => {
      this.connections++;
      this.sockets.add(s);
      s.on('data', (d: Buffer) => {
        this.received += d.toString();
      });
      s.on('error', () => {});
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const at = this.at;
      if ('path' in at) server.listen(at.path, () => resolve());
      else server.listen(at.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stops listening and ends each connection with a FIN, reading what the client still sends until it closes. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.end();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  }
}

/** A pyserial program writing "<n>\n" every 10 ms to `device` until its stdin closes; it exits 0 only if no write failed. */
function serialWriter(device: string): ChildProcess & { written: () => number; stderr: () => string } {
  const script = [
    'import serial, sys, threading, time',
    'port = serial.Serial(sys.argv[1], 115200, timeout=0)',
    'stop = threading.Event()',
    'threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()',
    'n = 0',
    'while not stop.is_set():',
    '    n += 1',
    '    port.write(b"%d\\n" % n)',
    '    port.flush()',
    '    print(n, flush=True)',
    '    time.sleep(0.01)',
    'port.close()',
  ].join('\n');
  const child = spawn(PYTHON_WITH_SERIAL as string, ['-c', script, device], { stdio: ['pipe', 'pipe', 'pipe'] });
  let last = 0;
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    // whole lines only: a chunk may end inside a number
    out += d.toString();
    const complete = out.slice(0, out.lastIndexOf('\n'));
    if (complete) last = Number(complete.slice(complete.lastIndexOf('\n') + 1));
    out = out.slice(out.lastIndexOf('\n') + 1);
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return Object.assign(child, { written: () => last, stderr: () => err });
}

async function run(bufferOption: string, over: 'tcp' | 'unix' = 'tcp'): Promise<{ lines: number[]; written: number; log: string; writerStatus: number | null; writerErrors: string }> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const port = await freePort();
  const path = join(dir, 'server.sock');
  const server = new FlakyServer(over === 'tcp' ? { port } : { path });
  await server.up();
  cleanups.push(() => server.down());
  const link = join(dir, 'ttyNET0');
  const address2 = over === 'tcp' ? `TCP:127.0.0.1:${port}` : `UNIX-CONNECT:${path}`;
  const relay = startTsocat(['-d', '-d', `PTY,link=${link},raw,echo=0`, `${address2},reconnect,interval=0.1${bufferOption}`]);
  cleanups.push(() => stop(relay));
  await waitForPath(link);
  await waitFor(() => server.connections === 1, 5000, 'the first connection');
  const writer = serialWriter(link);
  cleanups.push(() => writer.kill());
  for (let cycle = 1; cycle <= 3; cycle++) {
    const before = server.received.length;
    await waitFor(() => server.received.length > before + 20, 5000, `bytes before outage ${cycle}`);
    await server.down();
    // the program keeps writing while nobody listens
    const at = writer.written();
    await waitFor(() => writer.written() >= at + 20, 5000, `writes during outage ${cycle}`);
    await server.up();
    await waitFor(() => server.connections === cycle + 1, 10000, `reconnection ${cycle}`);
  }
  const settled = server.received.length;
  await waitFor(() => server.received.length > settled + 20, 5000, 'bytes after the last reconnection');
  writer.stdin?.end();
  const writerStatus = await new Promise<number | null>((r) => writer.once('exit', (code) => r(code)));
  const written = writer.written();
  await waitFor(() => server.received.endsWith(`\n${written}\n`), 5000, 'the last line');
  const lines = server.received.trimEnd().split('\n').map(Number);
  return { lines, written, log: relay.errors(), writerStatus, writerErrors: writer.stderr() };
}

describe('TCP reconnect under a PTY that stays', () => {
  it('PTY,link=L,raw TCP:…,reconnect: the server goes away three times; the pyserial writer never fails and every byte arrives once, in order', async (ctx) => {
    requireOrSkip(ctx, 'pyserial');
    const r = await run('');
    expect(r.writerErrors).toBe('');
    expect(r.writerStatus).toBe(0);
    expect(r.lines).toEqual(Array.from({ length: r.written }, (_, i) => i + 1));
    expect(r.log.match(/W TCP AF=2 127\.0\.0\.1:\d+: connection lost \(end of file\), reconnecting/g)).toHaveLength(3);
    expect(r.log.match(/N TCP AF=2 127\.0\.0\.1:\d+: reconnected after \d+ attempt\(s\)/g)).toHaveLength(3);
  }, 60000);

  it('reconnect-buffer=0: what is written while disconnected is dropped and logged; the rest arrives once, in order', async (ctx) => {
    requireOrSkip(ctx, 'pyserial');
    const r = await run(',reconnect-buffer=0');
    expect(r.writerErrors).toBe('');
    expect(r.writerStatus).toBe(0);
    // strictly increasing: nothing twice, nothing out of order; at least 20 lines of each outage missing
    for (let i = 1; i < r.lines.length; i++) expect(r.lines[i]).toBeGreaterThan(r.lines[i - 1] as number);
    expect(r.written - r.lines.length).toBeGreaterThanOrEqual(60);
    expect(r.lines[0]).toBe(1);
    expect(r.log.match(/W TCP AF=2 127\.0\.0\.1:\d+: \d+ bytes written while disconnected were dropped \(reconnect-buffer=0\)/g)).toHaveLength(3);
  }, 60000);

  it('UNIX-CONNECT:…,reconnect: the same over a UNIX socket whose server goes away three times', async (ctx) => {
    requireOrSkip(ctx, 'pyserial');
    const r = await run('', 'unix');
    expect(r.writerErrors).toBe('');
    expect(r.writerStatus).toBe(0);
    expect(r.lines).toEqual(Array.from({ length: r.written }, (_, i) => i + 1));
    expect(r.log.match(/W UNIX-CONNECT \S+: connection lost \(end of file\), reconnecting/g)).toHaveLength(3);
  }, 60000);
});
