/**
 * The descriptor layer for sockets Node has no handle for (src/sys/poll.ts,
 * src/sys/sockets.ts, src/engine/sockets/messages/raw-socket.ts): real socket pairs and UNIX
 * sockets, watched by the event loop through libuv's uv_poll.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../src/engine/context.js';
import { type Endpoint, sourceOf } from '../../src/engine/endpoint.js';
import { rawSocketEndpoint } from '../../src/engine/sockets/messages/raw-socket.js';
import { runSession } from '../../src/engine/relay/session.js';
import { describeSockaddr, inetSockaddr, parseSockaddr, unixSockaddr } from '../../src/engine/sockets/sockaddr.js';
import { createLogger, DEFAULT_LOG_CONFIG } from '../../src/log/logger.js';
import { AF_UNIX, bindSocket, openSocket, openSocketPair, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM } from '../../src/sys/sockets.js';
import { tempDir, waitFor } from '../helpers.js';

const toClose: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of toClose.splice(0).reverse()) await f();
});

function pair(type: number): [Endpoint, Endpoint] {
  const [a, b] = openSocketPair(AF_UNIX, type, 0);
  const message = type !== SOCK_STREAM;
  const halfClose = type !== SOCK_DGRAM;
  const ends: [Endpoint, Endpoint] = [rawSocketEndpoint(a, { message, halfClose, description: 'a' }), rawSocketEndpoint(b, { message, halfClose, description: 'b' })];
  for (const e of ends) toClose.push(() => e.close());
  return ends;
}

/** Collects what an endpoint's source delivers (copied: buffers are reused) until it ends or `count` chunks came. */
function collect(ep: Endpoint, count = Number.POSITIVE_INFINITY): { chunks: Buffer[]; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  const source = sourceOf(ep);
  if (!source) throw new Error('no source');
  const ended = new Promise<void>((resolve, reject) => {
    source.start({
      data(chunk, release) {
        chunks.push(Buffer.from(chunk));
        release();
        if (chunks.length >= count) resolve();
      },
      end: () => resolve(),
      error: reject,
    });
  });
  return { chunks, ended };
}

const MESSAGES = [Buffer.from('one'), Buffer.alloc(5000, 1), Buffer.from('three\n'), Buffer.alloc(1, 0)];
const hex = (ms: Buffer[]) => ms.map((m) => m.toString('hex'));

describe('socket pairs through the event loop', () => {
  for (const [name, type] of [
    ['SOCK_DGRAM', SOCK_DGRAM],
    ['SOCK_SEQPACKET', SOCK_SEQPACKET],
  ] as const) {
    it(`${name}: each write is one message and each read delivers one, both ways`, async () => {
      const [a, b] = pair(type);
      const atB = collect(b, MESSAGES.length);
      const atA = collect(a, MESSAGES.length);
      for (const m of MESSAGES) a.writable?.write(m);
      for (const m of MESSAGES) b.writable?.write(m);
      await Promise.all([atA.ended, atB.ended]);
      expect(hex(atB.chunks)).toEqual(hex(MESSAGES));
      expect(hex(atA.chunks)).toEqual(hex(MESSAGES));
    });
  }

  it('SOCK_SEQPACKET: half-close is end of file on the other side, and writing back still works', async () => {
    const [a, b] = pair(SOCK_SEQPACKET);
    const atB = collect(b);
    a.writable?.write(Buffer.from('last'));
    a.shutdownWrite();
    await atB.ended;
    expect(hex(atB.chunks)).toEqual(hex([Buffer.from('last')]));
    const atA = collect(a, 1);
    b.writable?.write(Buffer.from('reply'));
    await atA.ended;
    expect(atA.chunks[0]?.toString()).toBe('reply');
  });

  it('SOCK_STREAM: 16 MiB arrive intact through a full socket buffer (writes wait for the loop to say writable)', async () => {
    const [a, b] = pair(SOCK_STREAM);
    const data = randomBytes(16 * 1024 * 1024);
    const atB = collect(b);
    const w = a.writable;
    if (!w) throw new Error('no writable');
    for (let at = 0; at < data.length; at += 65536) {
      if (!w.write(data.subarray(at, at + 65536))) await new Promise((r) => w.once('drain', r));
    }
    a.shutdownWrite();
    await atB.ended;
    expect(Buffer.concat(atB.chunks).equals(data)).toBe(true);
  });

  it('waiting for data costs no CPU: the loop sleeps until the descriptor is readable (no busy polling)', async () => {
    const [a, b] = pair(SOCK_DGRAM);
    const atB = collect(b, 1);
    const before = process.cpuUsage();
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 500));
    const used = process.cpuUsage(before);
    a.writable?.write(Buffer.from('wake'));
    await atB.ended;
    expect(atB.chunks[0]?.toString()).toBe('wake');
    // a polling loop would burn most of the half second; a sleeping one uses a few milliseconds
    expect((used.user + used.system) / 1000).toBeLessThan((Date.now() - started) / 5);
  });

  it('close() releases the descriptors and the loop lets the process go', async () => {
    const before = readdirSync('/proc/self/fd').length;
    const [a, b] = pair(SOCK_SEQPACKET);
    collect(a);
    await a.close();
    await b.close();
    await waitFor(() => readdirSync('/proc/self/fd').length <= before, 2000);
    expect(readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(before);
  });
});

describe('through the engine', () => {
  it('a session between two datagram socket pairs keeps every message whole, with -b cutting long ones short', async () => {
    const [left, leftPeer] = pair(SOCK_DGRAM);
    const [right, rightPeer] = pair(SOCK_DGRAM);
    const atRight = collect(rightPeer, MESSAGES.length);
    const controller = new AbortController();
    const log = createLogger({ ...DEFAULT_LOG_CONFIG, threshold: 5 });
    const session = runSession(left, right, { settings: { ...DEFAULT_SETTINGS, blockSize: 4096, blockSizeGiven: true }, log, signal: controller.signal });
    for (const m of MESSAGES) leftPeer.writable?.write(m);
    await atRight.ended;
    expect(hex(atRight.chunks)).toEqual(hex(MESSAGES.map((m) => m.subarray(0, 4096))));
    controller.abort();
    expect(await session).toBe(0);
  });
});

describe('socket addresses', () => {
  it('builds and reads back UNIX (path and abstract), IPv4 and IPv6 addresses, described as socat does', () => {
    expect(describeSockaddr(unixSockaddr('/tmp/s'))).toBe('AF=1 "/tmp/s"');
    expect(parseSockaddr(unixSockaddr('name', true))).toEqual({ family: 'unix', path: 'name', abstract: true, unnamed: false });
    expect(describeSockaddr(inetSockaddr('127.0.0.1', 8080))).toBe('AF=2 127.0.0.1:8080');
    expect(describeSockaddr(inetSockaddr('::1', 80))).toBe('AF=10 [::1]:80');
    expect(parseSockaddr(inetSockaddr('fe80::1:2', 1))).toMatchObject({ address: 'fe80::1:2' });
    expect(() => unixSockaddr('x'.repeat(108))).toThrow(/too long/);
  });

  it('a datagram socket bound to a path receives there (a real UNIX datagram socket file)', async () => {
    const { dir, cleanup } = tempDir();
    toClose.push(cleanup);
    const path = join(dir, 'dgram.sock');
    const fd = openSocket(AF_UNIX, SOCK_DGRAM, 0);
    bindSocket(fd, unixSockaddr(path), path);
    const senders: string[] = [];
    const ep = rawSocketEndpoint(fd, { message: true, halfClose: false, description: path, onSender: (from) => {
        senders.push(describeSockaddr(from));
        return true;
      } });
    toClose.push(() => ep.close());
    const got = collect(ep, 1);
    const clientPath = join(dir, 'client.sock');
    const client = openSocket(AF_UNIX, SOCK_DGRAM, 0);
    bindSocket(client, unixSockaddr(clientPath), clientPath);
    const clientEp = rawSocketEndpoint(client, { message: true, halfClose: false, description: 'client', sendTo: unixSockaddr(path) });
    toClose.push(() => clientEp.close());
    clientEp.writable?.write(Buffer.from('hello'));
    await got.ended;
    expect(got.chunks[0]?.toString()).toBe('hello');
    expect(senders).toEqual([`AF=1 "${clientPath}"`]);
  });
});
