/**
 * The source contract (docs/architecture.md, src/engine/source.ts):
 * (a) a datagram source delivers one message per read and a datagram sink
 *     takes one message per write, on every path through the engine;
 * (b) sockets and pipes read into reused buffers, each handed back only once
 *     the write that carried it has finished.
 * Real UDP sockets on loopback, real TCP connections, the real session code.
 */

import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { type AddressInfo, connect, createServer } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, type RelaySettings } from '../../src/engine/context.js';
import { type Endpoint, type Listener, sourceOf } from '../../src/engine/endpoint.js';
import { pumpDirection } from '../../src/engine/relay/pump.js';
import { runSession } from '../../src/engine/relay/session.js';
import { readBufferStats } from '../../src/engine/descriptors/socket-source.js';
import { shareEndpoint } from '../../src/engine/relay/shared-endpoint.js';
import { datagramEndpoint } from '../../src/engine/sockets/messages/datagram-endpoint.js';
import { openAddress, relay } from '../../src/index.js';
import { createLogger, DEFAULT_LOG_CONFIG } from '../../src/log/logger.js';
import { freePort, waitFor, waitForPort } from '../helpers.js';
import { echoServer } from '../socket-helpers.js';

const quietLog = () => createLogger({ ...DEFAULT_LOG_CONFIG, threshold: 5 });
const toClose: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of toClose.splice(0).reverse()) await f();
});

function udpSocket(): Promise<DgramSocket> {
  const s = createSocket('udp4');
  toClose.push(() => new Promise<void>((r) => s.close(() => r())).catch(() => {}));
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s)));
}
const portOf = (s: DgramSocket) => s.address().port;

/** A test peer, and a socket connected to it wrapped as the relay's endpoint (relayPort: where the peer sends). */
async function peerAndEndpoint(name: string): Promise<{ peer: DgramSocket; endpoint: Endpoint; received: Buffer[]; relayPort: number }> {
  const peer = await udpSocket();
  const mine = await udpSocket();
  await new Promise<void>((r) => mine.connect(portOf(peer), '127.0.0.1', () => r()));
  const received: Buffer[] = [];
  peer.on('message', (m) => received.push(m));
  return { peer, endpoint: datagramEndpoint(mine, name), received, relayPort: portOf(mine) };
}

/** Messages of very different sizes, with line ends, so joining or splitting any two would show. */
const MESSAGES = [Buffer.from('a\n'), Buffer.from('bb\ncc\n'), Buffer.alloc(1000, 0x61), Buffer.alloc(3000, 0x62), Buffer.from('z'), Buffer.alloc(1400, 0x0a)];
const hex = (ms: Buffer[]) => ms.map((m) => m.toString('hex'));

describe('source contract (a): datagram boundaries through the engine', () => {
  // each case: relay settings and endpoint tweaks, and what the far peers must receive
  const cases: Array<{ name: string; settings: Partial<RelaySettings>; tweak?: (l: Endpoint, r: Endpoint) => { left: Endpoint; right: Endpoint }; expected: (m: Buffer) => Buffer }> = [
    { name: 'plain relay: one message in, one message out, unchanged', settings: {}, expected: (m) => m },
    { name: '-b 512: a longer message is cut short, never split into two', settings: { blockSize: 512, blockSizeGiven: true }, expected: (m) => m.subarray(0, 512) },
    { name: 'default -b 8192 with -v and -x dumps: messages whole', settings: { verbose: true, hexDump: true }, expected: (m) => m },
    {
      name: 'crnl on both sides: LF becomes CRLF inside each message, still one message each',
      settings: {},
      tweak: (l, r) => {
        for (const ep of [l, r]) ep.appl = { readLineTerm: 'raw', writeLineTerm: 'crnl' };
        return { left: l, right: r };
      },
      expected: (m) => Buffer.from(m.toString('latin1').replaceAll('\n', '\r\n'), 'latin1'),
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const a = await peerAndEndpoint('left');
      const b = await peerAndEndpoint('right');
      let left = a.endpoint;
      let right = b.endpoint;
      if (c.tweak) ({ left, right } = c.tweak(left, right));
      const controller = new AbortController();
      const session = runSession(left, right, { settings: { ...DEFAULT_SETTINGS, ...c.settings }, log: quietLog(), signal: controller.signal });
      for (const m of MESSAGES) a.peer.send(m, a.relayPort, '127.0.0.1');
      for (const m of MESSAGES) b.peer.send(m, b.relayPort, '127.0.0.1');
      const want = MESSAGES.map(c.expected);
      await waitFor(() => a.received.length >= want.length && b.received.length >= want.length, 5000);
      expect(hex(b.received)).toEqual(hex(want));
      expect(hex(a.received)).toEqual(hex(want));
      controller.abort();
      expect(await session).toBe(0);
    });
  }
});

describe('source contract (a): the other paths', () => {
  it('readbytes: the message that reaches the limit is cut short, the direction ends, earlier messages are whole', async () => {
    const a = await peerAndEndpoint('left');
    const b = await peerAndEndpoint('right');
    a.endpoint.appl = { readLineTerm: 'raw', writeLineTerm: 'raw', readBytes: 1005 };
    const session = runSession(a.endpoint, b.endpoint, { settings: { ...DEFAULT_SETTINGS, direction: 'left-to-right' }, log: quietLog() });
    for (const m of MESSAGES) a.peer.send(m, a.relayPort, '127.0.0.1');
    expect(await session).toBe(0);
    await waitFor(() => b.received.length >= 3, 5000);
    expect(hex(b.received)).toEqual(hex([MESSAGES[0], MESSAGES[1], MESSAGES[2].subarray(0, 1005 - 2 - 6)]));
  });

  it('fork on address 2 (address 1 shared by sessions): each session gets whole messages', async () => {
    const a = await peerAndEndpoint('shared');
    const b = await peerAndEndpoint('session');
    const shared = shareEndpoint(a.endpoint);
    toClose.push(() => shared.close());
    const controller = new AbortController();
    const session = runSession(shared.view(), b.endpoint, { settings: DEFAULT_SETTINGS, log: quietLog(), signal: controller.signal });
    for (const m of MESSAGES) a.peer.send(m, a.relayPort, '127.0.0.1');
    await waitFor(() => b.received.length >= MESSAGES.length, 5000);
    expect(hex(b.received)).toEqual(hex(MESSAGES));
    controller.abort();
    expect(await session).toBe(0);
  });

  it('a datagram writer that is slower than its source still sends one datagram per message (pause and resume keep them apart)', async () => {
    const a = await peerAndEndpoint('left');
    const b = await peerAndEndpoint('right');
    const source = sourceOf(a.endpoint);
    if (!source) throw new Error('no source');
    const got: Buffer[] = [];
    // a target that takes its time and says "full" after every message, so the source is paused between them
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _e, done) {
        setTimeout(() => {
          got.push(Buffer.from(chunk));
          done();
        }, 5);
      },
    });
    const pump = pumpDirection(source, slow, { observers: [], datagram: true, blockSize: 8192, sourceName: 'left', targetName: 'slow' });
    for (const m of MESSAGES) a.peer.send(m, a.relayPort, '127.0.0.1');
    await waitFor(() => got.length >= MESSAGES.length, 5000);
    expect(hex(got)).toEqual(hex(MESSAGES));
    pump.stop();
    await b.endpoint.close();
    await a.endpoint.close();
  });
  it('datagrams that arrive while a stalled writer has the source paused are held, then delivered one per message (UDP-LISTEN,fork: its sessions share a socket that cannot stop reading)', async () => {
    const port = await freePort();
    const listener = (await openAddress(`UDP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, { log: quietLog() })) as Listener;
    toClose.push(() => listener.close());
    const peer = await udpSocket();
    peer.send(MESSAGES[0], port, '127.0.0.1');
    const endpoint = await listener.accept();
    toClose.push(() => endpoint.close());
    const source = sourceOf(endpoint);
    if (!source) throw new Error('no source');
    const got: Buffer[] = [];
    // the first write stalls until the test lets it finish, so the pump pauses the source and the rest must be held
    let finishFirst: () => void = () => {};
    let writing = () => {};
    const firstWrite = new Promise<void>((r) => (writing = r));
    const stalled = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _e, done) {
        got.push(Buffer.from(chunk));
        if (got.length > 1) return setImmediate(done);
        finishFirst = done;
        writing();
      },
    });
    const pump = pumpDirection(source, stalled, { observers: [], datagram: true, blockSize: 8192, sourceName: 'left', targetName: 'stalled' });
    toClose.push(() => pump.stop());
    await firstWrite;
    for (const m of MESSAGES.slice(1)) peer.send(m, port, '127.0.0.1');
    // a second sender starts a second session: the listener has then read, and handed to the first session, all that came before it
    const other = await udpSocket();
    other.send('second peer', port, '127.0.0.1');
    const second = await listener.accept();
    toClose.push(() => second.close());
    expect(got.length).toBe(1);
    finishFirst();
    const total = MESSAGES.reduce((n, m) => n + m.length, 0);
    await waitFor(() => got.reduce((n, m) => n + m.length, 0) >= total, 5000, 'every held byte written');
    expect(got.map((m) => m.length)).toEqual(MESSAGES.map((m) => m.length));
    expect(hex(got)).toEqual(hex(MESSAGES));
  });
});

describe('source contract (b): reads into reused buffers', () => {
  it('a TCP endpoint reads into a handful of reused buffers, and none is reused before its write has finished', async () => {
    const payload = randomBytes(8 * 1024 * 1024);
    const server = createServer((s) => s.end(payload));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    toClose.push(() => new Promise((r) => server.close(r)));
    const opened = await openAddress(`TCP:127.0.0.1:${(server.address() as AddressInfo).port}`);
    if (opened.kind !== 'endpoint') throw new Error('expected an endpoint');
    toClose.push(() => opened.close());
    const source = opened.source;
    expect(source).toBeDefined();
    const memories = new Set<ArrayBufferLike>();
    const got: Buffer[] = [];
    // a target that keeps each chunk a while before it is "written" (copied out), like a kernel still sending it:
    // a buffer handed back too early would be overwritten by a later read, and the copy would differ
    const slow = new Writable({
      highWaterMark: 256 * 1024,
      write(chunk: Buffer, _e, done) {
        memories.add(chunk.buffer);
        setImmediate(() => {
          got.push(Buffer.from(chunk));
          done();
        });
      },
    });
    const pump = pumpDirection(source as NonNullable<typeof source>, slow, { observers: [], sourceName: 'TCP', targetName: 'slow' });
    expect((await pump.done).kind).toBe('eof');
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    // 8 MiB arrived in at least 128 reads; they used only the pool's few buffers
    expect(got.length).toBeGreaterThanOrEqual(128);
    expect(memories.size).toBeLessThanOrEqual(16);
  });

  it('64 MiB through TCP-LISTEN and TCP arrive intact: reusing buffers under real backpressure never corrupts a transfer', async () => {
    const payload = randomBytes(64 * 1024 * 1024);
    const sinkChunks: Buffer[] = [];
    let sinkDone!: () => void;
    const sunk = new Promise<void>((r) => (sinkDone = r));
    const sink = createServer((s) => {
      s.on('data', (d) => sinkChunks.push(d));
      s.on('end', () => {
        s.end();
        sinkDone();
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
    toClose.push(() => new Promise((r) => sink.close(r)));
    const port = await freePort();
    const controller = new AbortController();
    const relayed = relay(`TCP-LISTEN:${port},reuseaddr`, `TCP:127.0.0.1:${(sink.address() as AddressInfo).port}`, { signal: controller.signal, log: quietLog() });
    await waitForPort(port);
    const client = connect(port, '127.0.0.1');
    client.end(payload);
    await sunk;
    expect(Buffer.concat(sinkChunks).equals(payload)).toBe(true);
    expect(await relayed).toBe(0);
  });
});

/**
 * Sends random bytes through 127.0.0.1:port; once the same bytes are back, waits for `hold` (if given)
 * before closing. Resolves whether the echo was exact, after the far side has closed too.
 */
function echoed(port: number, hold?: Promise<void>, onEcho?: () => void): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const payload = randomBytes(200 + Math.floor(Math.random() * 2000));
    const back: Buffer[] = [];
    let got = 0;
    const s = connect(port, '127.0.0.1', () => s.write(payload));
    s.on('data', (d) => {
      back.push(d);
      got += d.length;
      if (got !== payload.length) return;
      onEcho?.();
      void (hold ?? Promise.resolve()).then(() => s.end());
    });
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(back).equals(payload)));
  });
}

describe('source contract (b): one pool of read buffers for the whole process', () => {
  it('two sockets read at once from one pool: a buffer moves between them, and neither transfer is corrupted', async () => {
    const payloads = [randomBytes(4 * 1024 * 1024), randomBytes(4 * 1024 * 1024)];
    const servers = payloads.map((p) => createServer((s) => s.end(p)));
    for (const server of servers) {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      toClose.push(() => new Promise((r) => server.close(r)));
    }
    const usedBy = payloads.map(() => new Set<ArrayBufferLike>());
    const runs = servers.map(async (server, i) => {
      const opened = await openAddress(`TCP:127.0.0.1:${(server.address() as AddressInfo).port}`);
      if (opened.kind !== 'endpoint' || !opened.source) throw new Error('expected an endpoint with a source');
      toClose.push(() => opened.close());
      const got: Buffer[] = [];
      // each chunk is copied out only a turn later, like a kernel still sending it: a buffer lent to the
      // other socket before this write finished would be overwritten by its read, and the copy would differ
      const slow = new Writable({
        highWaterMark: 256 * 1024,
        write(chunk: Buffer, _e, done) {
          usedBy[i]?.add(chunk.buffer);
          setImmediate(() => {
            got.push(Buffer.from(chunk));
            done();
          });
        },
      });
      const pump = pumpDirection(opened.source, slow, { observers: [], sourceName: `TCP ${i}`, targetName: 'slow' });
      expect((await pump.done).kind).toBe('eof');
      return Buffer.concat(got);
    });
    const received = await Promise.all(runs);
    expect(received[0]?.equals(payloads[0] as Buffer)).toBe(true);
    expect(received[1]?.equals(payloads[1] as Buffer)).toBe(true);
    const shared = [...(usedBy[0] ?? [])].filter((m) => usedBy[1]?.has(m));
    expect(shared.length).toBeGreaterThan(0);
  });

  it('TCP-LISTEN,fork TCP: 100 idle sessions hold no read buffer, buffers come back when sessions end, the pool keeps a bounded number, and 200 sequential connections allocate none', async () => {
    const echo = await echoServer();
    toClose.push(echo.close);
    const port = await freePort();
    const controller = new AbortController();
    const relayed = relay(`TCP-LISTEN:${port},reuseaddr,fork`, `TCP:127.0.0.1:${echo.port}`, { signal: controller.signal, log: quietLog() });
    toClose.push(async () => {
      controller.abort();
      await relayed;
    });
    await waitForPort(port);
    const lentBefore = readBufferStats().lent;
    // 100 sessions open at once (each client closes only when all have had their echo); once every echo is
    // back, their 200 sockets are idle and lend libuv the process's one quiet buffer, not one of the pool's each
    let echoes = 0;
    let release = () => {};
    const hold = new Promise<void>((r) => (release = r));
    let idleLent = -1;
    const allEchoed = async () => {
      // a buffer whose write is finishing comes back in a moment; the clients are released either way, the count tells
      await waitFor(() => readBufferStats().lent - lentBefore <= 2, 3000, 'the idle sessions to hold no read buffer').catch(() => {});
      idleLent = readBufferStats().lent - lentBefore;
      release();
    };
    const together = await Promise.all(
      Array.from({ length: 100 }, () =>
        echoed(port, hold, () => {
          if (++echoes === 100) void allEchoed();
        }),
      ),
    );
    expect(together.every(Boolean)).toBe(true);
    expect(idleLent).toBeGreaterThanOrEqual(0);
    expect(idleLent).toBeLessThanOrEqual(2);
    // every socket of those sessions has closed and handed its buffer back (the relay's close follows the client's);
    // the figures are taken at that moment, before a second without sessions lets the relay shrink the pool (at-rest.ts)
    let afterBurst = readBufferStats();
    await waitFor(() => (afterBurst = readBufferStats()).lent === lentBefore, 10000, 'every read buffer back in the pool');
    // bytes are copied out of the quiet buffer into pooled ones only for as long as their write takes
    expect(afterBurst.allocated).toBeLessThanOrEqual(afterBurst.keep);
    expect(afterBurst.idle).toBeLessThanOrEqual(afterBurst.keep);
    // one connection after the other: the pool's idle buffers serve them all
    for (let i = 0; i < 200; i++) expect(await echoed(port)).toBe(true);
    await waitFor(() => readBufferStats().lent === lentBefore, 10000, 'every read buffer back in the pool');
    expect(readBufferStats().allocated - afterBurst.allocated).toBeLessThanOrEqual(4);
    expect(readBufferStats().idle).toBeLessThanOrEqual(afterBurst.keep);
  }, 60000);
});
