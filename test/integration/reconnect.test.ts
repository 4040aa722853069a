/**
 * `reconnect` on TCP (issue 21, item 3): a virtual serial port over TCP that
 * survives the network. `PTY,link=L,raw TCP:127.0.0.1:P,reconnect` while a
 * pyserial program holds L open and keeps writing, and the test's TCP server
 * goes away and comes back three times: the program never sees an error, and
 * every byte arrives once, in order (bounded buffer), or what was written
 * while disconnected is dropped and logged (reconnect-buffer=0). The same
 * over UNIX-CONNECT, over TLS to a Node TLS server, and through real
 * intermediaries (tinyproxy for PROXY, danted for SOCKS4 and SOCKS5) that stay
 * up while the target behind them goes away.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, PYTHON_WITH_SERIAL, requireOrSkip, startTsocat, stop, tempDir, tsocat, waitFor } from '../helpers.js';
import { waitForPath } from '../pty-helpers.js';
import { danteCommand, makeCerts, peerStarter, tinyproxyCommand } from '../tls-peers.js';

const startPeer = peerStarter();

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
  constructor(
    private readonly at: { port: number } | { path: string },
    /** A TLS server's key and certificate (PEM): the server speaks TLS. */
    private readonly tls?: { key: string; cert: string },
  ) {}

  async up(): Promise<void> {
    const server = (this.tls ? (h: (s: Socket) => void) => createTlsServer(this.tls, h) : (h: (s: Socket) => void) => createServer(h))((s) => {
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

type Over = 'tcp' | 'unix' | 'openssl' | 'proxy' | 'socks4' | 'socks5';

/** The address that reaches the flaky server at `port` (or `path`) over `over`, starting the real peer in between (tinyproxy, danted) in `dir`. */
async function addressTo(over: Over, dir: string, port: number, path: string): Promise<string> {
  const hop = async ([cmd, args]: [string, string[]], hopPort: number) => {
    await startPeer(cmd, args, hopPort);
    return hopPort;
  };
  switch (over) {
    case 'tcp':
      return `TCP:127.0.0.1:${port}`;
    case 'unix':
      return `UNIX-CONNECT:${path}`;
    case 'openssl':
      return `OPENSSL:127.0.0.1:${port},cafile=${join(dir, 'ca.pem')}`;
    case 'proxy': {
      const proxyPort = await freePort();
      await hop(tinyproxyCommand(dir, proxyPort, port), proxyPort);
      return `PROXY:127.0.0.1:127.0.0.1:${port},proxyport=${proxyPort}`;
    }
    default: {
      const socksPort = await freePort();
      await hop(danteCommand(dir, socksPort), socksPort);
      return over === 'socks4' ? `SOCKS4:127.0.0.1:127.0.0.1:${port},socksport=${socksPort}` : `SOCKS5:127.0.0.1:${socksPort}:127.0.0.1:${port}`;
    }
  }
}

async function run(bufferOption: string, over: Over = 'tcp'): Promise<{ lines: number[]; written: number; log: string; writerStatus: number | null; writerErrors: string }> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const port = await freePort();
  const path = join(dir, 'server.sock');
  const certs = over === 'openssl' ? makeCerts(dir) : undefined;
  const server = new FlakyServer(over === 'unix' ? { path } : { port }, certs && { key: readFileSync(certs.serverKey, 'utf8'), cert: readFileSync(certs.server, 'utf8') });
  await server.up();
  cleanups.push(() => server.down());
  const link = join(dir, 'ttyNET0');
  const address2 = await addressTo(over, dir, port, path);
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

describe('reconnect through TLS, an HTTP proxy and SOCKS servers (real peers)', () => {
  const cases: Array<[Over, string, RegExp]> = [
    ['openssl', 'OPENSSL:…,reconnect: a TLS server (handshake and certificate check each time) goes away three times', /W OPENSSL AF=2 127\.0\.0\.1:\d+: connection lost \(end of file\), reconnecting/g],
    ['proxy', 'PROXY:…,reconnect: through tinyproxy, the target goes away three times and each reconnection is a new CONNECT', /W PROXY AF=2 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+: connection lost \(end of file\), reconnecting/g],
    ['socks4', 'SOCKS4:…,reconnect: through danted, the target goes away three times', /W SOCKS4 AF=2 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+: connection lost \(end of file\), reconnecting/g],
    ['socks5', 'SOCKS5:…,reconnect: through danted, the target goes away three times', /W SOCKS5 AF=2 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+: connection lost \(end of file\), reconnecting/g],
  ];
  for (const [over, title, lost] of cases) {
    it(`${title}; the pyserial writer never fails and what is written while disconnected arrives, once, in order`, async (ctx) => {
      requireOrSkip(ctx, 'pyserial');
      if (over === 'proxy') requireOrSkip(ctx, 'tinyproxy');
      if (over.startsWith('socks')) requireOrSkip(ctx, 'danted');
      const r = await run('', over);
      expect(r.writerErrors).toBe('');
      expect(r.writerStatus).toBe(0);
      if (over === 'openssl') expect(r.lines).toEqual(Array.from({ length: r.written }, (_, i) => i + 1));
      else {
        // a proxy between tsocat and the target may drop what it held when the target went away (tsocat had
        // handed it over, connected): a line or two per outage. Nothing twice or out of order, and what was
        // written during each outage (20 lines or more, held in reconnect-buffer) is never what goes missing.
        for (let i = 1; i < r.lines.length; i++) expect(r.lines[i]).toBeGreaterThan(r.lines[i - 1] as number);
        expect([r.lines[0], r.lines.at(-1)]).toEqual([1, r.written]);
        expect(r.written - r.lines.length).toBeLessThan(10);
      }
      expect(r.log.match(lost)).toHaveLength(3);
    }, 60000);
  }

  it('refuses reconnect where nothing connects (SOCKS5-LISTEN) and a bad value, each in one E line with status 1', async () => {
    const cases: Array<[string, string]> = [
      ['SOCKS5-LISTEN:127.0.0.1:1:127.0.0.1:5,reconnect', 'E parseopts_table(): option "reconnect" not supported with this address type'],
      ['OPENSSL:127.0.0.1:1,reconnect=maybe', 'E parseopts(): missing numerical value of option "reconnect=maybe"'],
    ];
    for (const [address, line] of cases) {
      const r = await tsocat(['-', address], { input: '' });
      expect(r.stderr.replace(/^\S+ \S+ tsocat\[\d+\] /gm, ''), address).toBe(`${line}\n`);
      expect(r.status).toBe(1);
    }
  });
});
