/**
 * UNIX and ABSTRACT addresses end to end: real socket files and abstract
 * names, real clients (curl, socat, Node's net), datagram boundaries through
 * the relay, fork with many peers, and the options on the socket file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Endpoint, sourceOf } from '../../src/engine/endpoint.js';
import { rawSocketEndpoint } from '../../src/engine/sockets/messages/raw-socket.js';
import { unixAddress } from '../../src/engine/sockets/unix/unix-socket.js';
import { AF_UNIX, bindSocket, connectSocket, openSocket, SOCK_DGRAM, SOCK_SEQPACKET } from '../../src/sys/sockets.js';
import { backgroundStarter, freePort, requireOrSkip, run, SOCAT, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';

const start = backgroundStarter();
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Listening UNIX sockets as ss shows them (with -m, their buffers too). */
const listeningUnix = (memory = false) => execFileSync('ss', [memory ? '-xlnmH' : '-xlnH'], { encoding: 'utf8' }).split('\n');

function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

/** Waits until tsocat's log says the address is ready. */
async function ready(p: ReturnType<typeof start>, text: string): Promise<void> {
  await waitFor(() => p.errors().includes(text), 8000);
}

/** One exchange with a UNIX stream socket: send, half-close, read to the end. */
function unixExchange(path: string, data: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect({ path, allowHalfOpen: true });
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => {
      s.end();
      resolve(Buffer.concat(got));
    });
    s.on('error', reject);
    s.end(data);
  });
}

function echoServer(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer({ allowHalfOpen: true }, (c) => c.pipe(c));
    server.listen(0, '127.0.0.1', () => {
      cleanups.push(() => void server.close());
      resolve({ server, port: (server.address() as { port: number }).port });
    });
  });
}

/** A datagram socket of the test's own, bound to `name` (path or abstract), collecting what arrives. */
function datagramReceiver(name: string, abstract = false): { got: Buffer[]; endpoint: Endpoint } {
  const fd = openSocket(AF_UNIX, SOCK_DGRAM, 0);
  bindSocket(fd, unixAddress(name, abstract), name);
  const endpoint = rawSocketEndpoint(fd, { message: true, halfClose: false, description: name });
  cleanups.push(() => endpoint.close());
  const got: Buffer[] = [];
  sourceOf(endpoint)?.start({ data: (c, release) => {
      got.push(Buffer.from(c));
      release();
    }, end() {}, error() {} });
  return { got, endpoint };
}

/** A datagram socket that sends to `name`. */
function datagramSender(name: string, abstract = false): Endpoint {
  const fd = openSocket(AF_UNIX, SOCK_DGRAM, 0);
  const endpoint = rawSocketEndpoint(fd, { message: true, halfClose: false, description: 'sender', sendTo: unixAddress(name, abstract), mode: 'w' });
  cleanups.push(() => endpoint.close());
  return endpoint;
}

/** Sizes from 1 byte to 60 KB, each datagram filled with its own index so order and content are checked. */
// 1,000 datagrams from 1 byte to 60 KB (the count), spread so that small and large ones alternate in size classes
const SIZES = Array.from({ length: 1000 }, (_, i) => (i === 0 ? 1 : Math.min(60_000, Math.max(1, Math.round(60_000 * (i / 999) ** 2)))));
const datagram = (i: number) => Buffer.alloc(SIZES[i] as number, i % 251);

async function sendAll(sender: Endpoint): Promise<void> {
  const w = sender.writable;
  if (!w) throw new Error('no writable');
  for (let i = 0; i < SIZES.length; i++) {
    if (!w.write(datagram(i))) await new Promise((r) => w.once('drain', r));
  }
}

describe('UNIX-LISTEN with fork in front of TCP, and the reverse', () => {
  it('UNIX-LISTEN:path,fork,mode=600 TCP:127.0.0.1:P serves 50 concurrent clients; the file has mode 600 and is gone after SIGTERM', async () => {
    const d = dir();
    const path = join(d, 'front.sock');
    const { port } = await echoServer();
    const p = start(['-dd', `UNIX-LISTEN:${path},fork,mode=600`, `TCP:127.0.0.1:${port}`]);
    await ready(p, 'listening on');
    expect(statSync(path).mode & 0o7777).toBe(0o600);
    expect(statSync(path).isSocket()).toBe(true);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => unixExchange(path, `client ${i}\n`.repeat(100))));
    for (const [i, a] of answers.entries()) expect(a.toString()).toBe(`client ${i}\n`.repeat(100));
    expect(p.errors().match(/accepting connection from AF=1 "<anon>" on AF=1 ".*front.sock"/g)?.length).toBe(50);
    p.kill('SIGTERM');
    await waitFor(() => p.exitCode !== null || p.signalCode !== null, 5000);
    expect(existsSync(path)).toBe(false);
  });

  it('TCP-LISTEN:P,fork UNIX-CONNECT:path serves 50 concurrent clients of a UNIX echo server', async () => {
    const d = dir();
    const path = join(d, 'back.sock');
    const server = createServer({ allowHalfOpen: true }, (c) => c.pipe(c));
    await new Promise<void>((r) => server.listen(path, r));
    cleanups.push(() => void server.close());
    const port = await freePort();
    start([`TCP-LISTEN:${port},fork,reuseaddr`, `UNIX-CONNECT:${path}`]);
    await waitForPort(port);
    const answers = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) =>
          new Promise<string>((resolve, reject) => {
            const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
            let got = '';
            s.on('data', (b: Buffer) => (got += b.toString()));
            s.on('end', () => resolve(got));
            s.on('error', reject);
            s.end(`peer ${i}\n`);
          }),
      ),
    );
    for (const [i, a] of answers.entries()) expect(a).toBe(`peer ${i}\n`);
  });

  it('curl --unix-socket talks HTTP through tsocat to a TCP HTTP server', async () => {
    const http = createHttpServer((req, res) => res.end(`you asked for ${req.url}\n`));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanups.push(() => void http.close());
    const port = (http.address() as { port: number }).port;
    const path = join(dir(), 'http.sock');
    await ready(start(['-dd', `UNIX-LISTEN:${path},fork`, `TCP:127.0.0.1:${port}`]), 'listening on');
    const r = await run('curl', ['-s', '--unix-socket', path, 'http://localhost/through/tsocat']);
    expect(r.stdout.toString()).toBe('you asked for /through/tsocat\n');
  });
});

describe('datagram and seqpacket boundaries through the relay', () => {
  for (const abstract of [false, true]) {
    it(`1,000 datagrams of 1 B to 60 KB: -b 65536 ${abstract ? 'ABSTRACT' : 'UNIX'}-RECV → ${abstract ? 'ABSTRACT' : 'UNIX'}-SENDTO arrive whole and in order`, async () => {
      const d = dir();
      const tag = `tsocat-test-${process.pid}-${Date.now()}`;
      const inName = abstract ? `${tag}-in` : join(d, 'in.sock');
      const outName = abstract ? `${tag}-out` : join(d, 'out.sock');
      const prefix = abstract ? 'ABSTRACT' : 'UNIX';
      const receiver = datagramReceiver(outName, abstract);
      const p = start(['-dd', '-u', '-b', '65536', `${prefix}-RECV:${inName}`, `${prefix}-SENDTO:${outName}`]);
      await ready(p, 'starting data transfer loop');
      await sendAll(datagramSender(inName, abstract));
      await waitFor(() => receiver.got.length >= SIZES.length, 30000);
      expect(receiver.got.map((m) => m.length)).toEqual(SIZES);
      for (const [i, m] of receiver.got.entries()) expect(m.equals(datagram(i))).toBe(true);
    });
  }

  it("with socat's default -b 8192 a longer datagram is cut to 8192 bytes, as socat cuts it", async () => {
    const d = dir();
    const receiver = datagramReceiver(join(d, 'out.sock'));
    const p = start(['-dd', '-u', `UNIX-RECV:${join(d, 'in.sock')}`, `UNIX-SENDTO:${join(d, 'out.sock')}`]);
    await ready(p, 'starting data transfer loop');
    const sender = datagramSender(join(d, 'in.sock'));
    sender.writable?.write(Buffer.alloc(20000, 7));
    sender.writable?.write(Buffer.from('small'));
    await waitFor(() => receiver.got.length >= 2);
    expect(receiver.got.map((m) => m.length)).toEqual([8192, 5]);
  });

  it('a seqpacket client of UNIX-LISTEN,so-type=5 has each message relayed as one datagram', async () => {
    const d = dir();
    const listen = join(d, 'sp.sock');
    const receiver = datagramReceiver(join(d, 'out.sock'));
    const p = start(['-dd', `UNIX-LISTEN:${listen},so-type=5`, `UNIX-SENDTO:${join(d, 'out.sock')}`]);
    await ready(p, 'listening on');
    const fd = openSocket(AF_UNIX, SOCK_SEQPACKET, 0);
    const addr = unixAddress(listen, false);
    connectSocket(fd, addr, listen);
    const client = rawSocketEndpoint(fd, { message: true, halfClose: true, description: 'client' });
    cleanups.push(() => client.close());
    const messages = ['one', 'two two', 'x'.repeat(5000), '4'];
    for (const m of messages) client.writable?.write(Buffer.from(m));
    await waitFor(() => receiver.got.length >= messages.length);
    expect(receiver.got.map((m) => m.toString())).toEqual(messages);
  });
});

describe('UNIX-RECVFROM with fork', () => {
  it('answers each of 20 senders from its own session (20 child PIDs), each reply going back to its sender', { timeout: 60000 }, async () => {
    const d = dir();
    const server = join(d, 'rf.sock');
    const p = start(['-dd', `UNIX-RECVFROM:${server},fork`, 'SYSTEM:read line; echo "$line $$"']);
    await ready(p, 'receiving on');
    // 20 real datagram sockets, each bound to its own file, each sending one line at once
    const senders = Array.from({ length: 20 }, (_, i) => {
      const fd = openSocket(AF_UNIX, SOCK_DGRAM, 0);
      bindSocket(fd, unixAddress(join(d, `c${i}.sock`), false), `c${i}`);
      const endpoint = rawSocketEndpoint(fd, { message: true, halfClose: false, description: `c${i}`, sendTo: unixAddress(server, false) });
      cleanups.push(() => endpoint.close());
      const got: Buffer[] = [];
      sourceOf(endpoint)?.start({ data: (c, release) => {
      got.push(Buffer.from(c));
      release();
    }, end() {}, error() {} });
      return { endpoint, got };
    });
    for (const [i, s] of senders.entries()) s.endpoint.writable?.write(Buffer.from(`sender${i}\n`));
    await waitFor(() => senders.every((s) => s.got.length > 0), 30000);
    const pids = new Set<string>();
    senders.forEach((s, i) => {
      const m = (s.got[0] as Buffer).toString().match(/^sender(\d+) (\d+)\n$/);
      expect(m?.[1]).toBe(String(i));
      pids.add(m?.[2] as string);
    });
    expect(pids.size).toBe(20);
  });
});

describe('UNIX-CLIENT and GOPEN find the socket type as socat does', () => {
  for (const [type, name] of [
    [1, 'stream'],
    [5, 'seqpacket'],
  ] as const) {
    it(`UNIX-CLIENT and GOPEN on a ${name} socket: a round trip`, async () => {
      const d = dir();
      const path = join(d, `${name}.sock`);
      await ready(start(['-dd', `UNIX-LISTEN:${path},fork,so-type=${type}`, 'SYSTEM:tr a-z A-Z']), 'listening on');
      for (const address of [`UNIX-CLIENT:${path}`, `GOPEN:${path}`, path]) {
        const r = await tsocat(['-', address], { input: 'hello\n' });
        expect({ address, out: r.stdout.toString(), status: r.status }).toEqual({ address, out: 'HELLO\n', status: 0 });
      }
    });
  }

  it('UNIX-CLIENT and a plain path on a datagram socket send datagrams to it', async () => {
    const d = dir();
    const receiver = datagramReceiver(join(d, 'dg.sock'));
    expect((await tsocat(['-u', '-', `UNIX-CLIENT:${join(d, 'dg.sock')}`], { input: 'first\n' })).status).toBe(0);
    expect((await tsocat(['-u', '-', join(d, 'dg.sock')], { input: 'second\n' })).status).toBe(0);
    await waitFor(() => receiver.got.length >= 2);
    expect(receiver.got.map(String)).toEqual(['first\n', 'second\n']);
  });
});

describe('options on the socket and its file', () => {
  it('unlink-early replaces an existing entry; unlink-close=0 leaves the socket file behind', async () => {
    const d = dir();
    const path = join(d, 's');
    execFileSync('touch', [path]);
    const refused = await tsocat([`UNIX-LISTEN:${path}`, '-']);
    expect(refused.stderr).toMatch(/E ".*\/s" exists/);
    expect(refused.status).toBe(1);
    const p = start(['-dd', `UNIX-LISTEN:${path},unlink-early,unlink-close=0`, 'SYSTEM:echo served']);
    await ready(p, 'listening on');
    expect((await unixExchange(path, '')).toString()).toBe('served\n');
    await waitFor(() => p.exitCode !== null);
    expect(statSync(path).isSocket()).toBe(true);
  });

  it('user and group change the socket file (root)', async (ctx) => {
    requireOrSkip(ctx, 'root', 'nobody');
    const path = join(dir(), 'owned.sock');
    await ready(start(['-dd', `UNIX-LISTEN:${path},user=nobody,group=nogroup`, '-']), 'listening on');
    expect([statSync(path).uid, statSync(path).gid]).toEqual([65534, 65534]);
  });

  it('backlog is the listen() queue length (ss shows it)', async () => {
    const path = join(dir(), 'bl.sock');
    await ready(start(['-dd', `UNIX-LISTEN:${path},backlog=3`, '-']), 'listening on');
    const line = listeningUnix().find((l) => l.includes(path));
    expect(line?.split(/\s+/)[3]).toBe('3');
  });

  it('unix-tightsocklen=0 makes an abstract name the NUL-padded one: only a padded client reaches it', async (ctx) => {
    requireOrSkip(ctx, 'socat');
    const name = `tsocat-tight-${process.pid}`;
    await ready(start(['-dd', `ABSTRACT-LISTEN:${name},fork,unix-tightsocklen=0`, 'SYSTEM:echo padded']), 'listening on');
    const padded = await run(SOCAT as string, ['-', `ABSTRACT-CONNECT:${name},unix-tightsocklen=0`]);
    expect(padded.stdout.toString()).toBe('padded\n');
    const tight = await run(SOCAT as string, ['-', `ABSTRACT-CONNECT:${name}`]);
    expect(tight.status).toBe(1);
    expect(tight.stderr).toMatch(/Connection refused/);
  });

  it('unix-bind-tempname binds each client to a fresh name from the pattern, which the server sees', async () => {
    const d = dir();
    const server = join(d, 'srv.sock');
    const p = start(['-dd', `UNIX-RECVFROM:${server},fork`, 'SYSTEM:cat']);
    await ready(p, 'receiving on');
    const r = await tsocat(['-t', '2', '-', `UNIX-SENDTO:${server},unix-bind-tempname=${join(d, 'cli-XXXXXX')}`], { input: 'echo me\n' });
    expect(r.stdout.toString()).toBe('echo me\n');
    expect(p.errors()).toMatch(new RegExp(`receiving packet from AF=1 "${d}/cli-[A-Za-z0-9]{6}"`));
  });

  it('so-protocol reaches socket(): a protocol UNIX sockets lack fails as socat says', async () => {
    const r = await tsocat(['-', `UNIX-CONNECT:${join(dir(), 'x')},so-protocol=6`]);
    expect(r.stderr).toMatch(/E socket\(1, 1, 6\): Protocol not supported\n$/);
    expect(r.status).toBe(1);
  });

  it('setsockopt-listen sets an option on the listening socket (SO_RCVBUF seen by ss)', async () => {
    const path = join(dir(), 'so.sock');
    await ready(start(['-dd', `UNIX-LISTEN:${path},setsockopt-listen=1:8:i65536`, '-']), 'listening on');
    expect(listeningUnix(true).find((l) => l.includes(path))).toMatch(/rb131072/);
  });
});
