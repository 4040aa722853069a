/**
 * UDP to UDP through the batched datagram path (src/engine/relay/kernel/datagram-batch.ts):
 * UDP-LISTEN's first peer relayed to a connected UDP socket with recvmmsg and
 * sendmmsg. Real sockets on loopback; each packet's bytes and length checked
 * as it arrives; the log line says which path the session took.
 */
import { createSocket, type Socket as DgramSocket, type RemoteInfo } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, udpBound, waitFor } from '../helpers.js';

const start = backgroundStarter();
const toClose: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of toClose.splice(0).reverse()) await f();
});

interface Peer {
  socket: DgramSocket;
  port: number;
  received: Array<{ data: Buffer; from: RemoteInfo }>;
  send(data: Buffer, port: number): Promise<void>;
}

function udpPeer(family: 4 | 6 = 4): Promise<Peer> {
  const host = family === 6 ? '::1' : '127.0.0.1';
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  const received: Peer['received'] = [];
  socket.on('message', (data, from) => received.push({ data, from }));
  toClose.push(() => new Promise<void>((r) => socket.close(() => r())));
  return new Promise((resolve) =>
    socket.bind(0, host, () =>
      resolve({
        socket,
        port: socket.address().port,
        received,
        send: (data, to) => new Promise<void>((r, j) => socket.send(data, to, host, (e) => (e ? j(e) : r()))),
      }),
    ),
  );
}

/** An echo that answers every packet with its bytes reversed (so an answer is told from the question), empty ones not at all. */
async function reversingEcho(family: 4 | 6 = 4): Promise<Peer> {
  const echo = await udpPeer(family);
  echo.socket.on('message', (data, from) => {
    if (data.length > 0) echo.socket.send(Buffer.from(data).reverse(), from.port, from.address);
  });
  return echo;
}

/** A packet of `size` bytes that says which it is. */
const packet = (i: number, size: number) => Buffer.alloc(size, `${i % 10}abcdefgh`);

/** `UDP-LISTEN:<port> UDP:127.0.0.1:<echo>` with these flags; resolves once it listens. */
async function relay(flags: string[], echoPort: number, env?: NodeJS.ProcessEnv, family: 4 | 6 = 4) {
  const port = await freePort();
  const addresses = family === 6 ? [`UDP6-LISTEN:${port},bind=[::1]`, `UDP6:[::1]:${echoPort}`] : [`UDP-LISTEN:${port},bind=127.0.0.1`, `UDP:127.0.0.1:${echoPort}`];
  const p = start([...flags, '-d', '-d', ...addresses], { env: env ? { ...process.env, ...env } : undefined });
  await waitFor(() => udpBound(port), 20000, `UDP port ${port} bound`);
  return { p, port };
}

describe('UDP-LISTEN → UDP in datagram batches', () => {
  it('relays 300 packets of 1 to 1472 bytes both ways, 16 in flight, each whole and in its own datagram', async () => {
    const echo = await reversingEcho();
    const { p, port } = await relay(['-b', '65536'], echo.port);
    const client = await udpPeer();
    const sizes = Array.from({ length: 300 }, (_, i) => 1 + ((i * 97) % 1472));
    // windows of 16, as the bench sends them: several packets wait in the socket at once, so batches form
    for (let at = 0; at < sizes.length; at += 16) {
      const window = sizes.slice(at, at + 16);
      await Promise.all(window.map((size, j) => client.send(packet(at + j, size), port)));
      await waitFor(() => client.received.length >= at + window.length, 20000, `answers to the first ${at + window.length} packets`);
    }
    expect(p.errors()).toContain('N data path: datagram batches (recvmmsg, sendmmsg)');
    // loopback keeps order within one socket pair; each answer is its question reversed, length kept
    expect(client.received.map((r) => r.data.length)).toEqual(sizes);
    const wrong = client.received.filter((r, i) => !r.data.equals(packet(i, sizes[i] as number).reverse())).length;
    expect(wrong).toBe(0);
    expect(echo.received.map((r) => r.data.length)).toEqual(sizes);
  });

  it('-b 100 cuts each datagram to 100 bytes on this path, as socat reads at most -b', async () => {
    const echo = await reversingEcho();
    const { p, port } = await relay(['-b', '100'], echo.port);
    const client = await udpPeer();
    await client.send(packet(1, 1000), port);
    await waitFor(() => client.received.length === 1, 20000, 'the answer');
    expect(p.errors()).toContain('N data path: datagram batches (recvmmsg, sendmmsg)');
    expect(echo.received.map((r) => r.data.length)).toEqual([100]);
    expect(client.received[0]?.data.equals(packet(1, 100).reverse())).toBe(true);
  });

  it("the peer's empty packet is end of file: the relay sends an empty packet on and exits 0", async () => {
    const echo = await reversingEcho();
    const { p, port } = await relay(['-t', '0.2'], echo.port);
    const client = await udpPeer();
    await client.send(Buffer.from('first'), port);
    await waitFor(() => client.received.length === 1, 20000, 'the answer');
    const exited = new Promise<number | null>((r) => p.once('exit', r));
    await client.send(Buffer.alloc(0), port);
    expect(await exited).toBe(0);
    expect(echo.received.map((r) => r.data.toString())).toEqual(['first', '']);
    expect(p.errors()).toContain('N data path: datagram batches (recvmmsg, sendmmsg)');
  });

  it('UDP6-LISTEN → UDP6 over ::1 in batches: IPv6 senders checked, packets held before the path began go out first, in order', async () => {
    const echo = await reversingEcho(6);
    const { p, port } = await relay([], echo.port, undefined, 6);
    const client = await udpPeer(6);
    for (const word of ['one', 'two', 'three']) await client.send(Buffer.from(word), port);
    await waitFor(() => client.received.length === 3, 20000, 'three answers');
    expect(client.received.map((r) => r.data.toString())).toEqual(['eno', 'owt', 'eerht']);
    expect(p.errors()).toContain('N data path: datagram batches (recvmmsg, sendmmsg)');
  });

  it('-T 0.6: packets every 150 ms keep the session alive past the timeout; silence then ends it', async () => {
    const echo = await reversingEcho();
    const { p, port } = await relay(['-T', '0.6'], echo.port);
    const client = await udpPeer();
    const exited = new Promise<number | null>((r) => p.once('exit', r));
    for (let i = 0; i < 12; i++) {
      await client.send(Buffer.from(`p${i}`), port);
      await waitFor(() => client.received.length === i + 1, 20000, `answer ${i}`);
      await new Promise((r) => setTimeout(r, 150));
    }
    // 12 × 150 ms is three times -T: only the activity kept it running
    expect(p.exitCode).toBe(null);
    expect(await exited).toBe(0);
    expect(p.errors()).toContain('N inactivity timeout triggered');
    expect(p.errors()).toContain('N data path: datagram batches (recvmmsg, sendmmsg)');
  });

  it("another sender's packets do not pass once the first peer is chosen", async () => {
    const echo = await reversingEcho();
    const { port } = await relay([], echo.port);
    const client = await udpPeer();
    const stranger = await udpPeer();
    await client.send(Buffer.from('one'), port);
    await waitFor(() => client.received.length === 1, 20000, 'the answer');
    await stranger.send(Buffer.from('stranger'), port);
    await client.send(Buffer.from('two'), port);
    await waitFor(() => client.received.length === 2, 20000, 'the second answer');
    expect(echo.received.map((r) => r.data.toString())).toEqual(['one', 'two']);
    expect(stranger.received).toEqual([]);
  });

  it('a flood of 20000 packets in bursts never holds the event loop 100 ms (TSOCAT_LOOP_WATCHDOG=100)', async () => {
    const echo = await reversingEcho();
    const { p, port } = await relay([], echo.port, { TSOCAT_LOOP_WATCHDOG: '100' });
    const client = await udpPeer();
    await client.send(Buffer.from('first'), port);
    await waitFor(() => client.received.length === 1, 20000, 'the first answer');
    // bursts of 100 with no window: the packets pile up in the relay's socket, so readable events find full batches
    const flood = Buffer.alloc(64, 'f');
    for (let burst = 0; burst < 200; burst++) {
      for (let i = 0; i < 100; i++) client.socket.send(flood, port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 1));
    }
    // loopback drops what a full socket buffer cannot take; a thousand answers show the flood went through the relay
    await waitFor(() => client.received.length > 1000, 20000, 'answers to the flood');
    expect(p.errors()).toContain('N data path: datagram batches (recvmmsg, sendmmsg)');
    expect(p.errors()).not.toContain('stalled');
  });

  it.each([
    ['-v', ['-v'], {}],
    ['TSOCAT_BATCH=off', [], { TSOCAT_BATCH: 'off' }],
  ])('%s keeps the buffered path, and it relays the same', async (why, flags, env) => {
    const echo = await reversingEcho();
    const { p, port } = await relay(flags, echo.port, env);
    const client = await udpPeer();
    await client.send(Buffer.from('hello'), port);
    await waitFor(() => client.received.length === 1, 20000, 'the answer');
    expect(client.received[0]?.data.toString()).toBe('olleh');
    expect(p.errors()).toContain(`N data path: buffers (${why})`);
  });
});

describe('the batched path checks IPv6 senders', () => {
  it('packets queued before the session connected, from another ::1 port or from the same port at another address, do not pass', async () => {
    const echo = await reversingEcho(6);
    const port = await freePort();
    // UDP6-LISTEN on [::] also hears IPv4 senders, as ::ffff:127.0.0.1
    const p = start(['-d', '-d', `UDP6-LISTEN:${port}`, `UDP6:[::1]:${echo.port}`]);
    await waitFor(() => udpBound(port), 20000, `UDP port ${port} bound`);
    const client = await udpPeer(6);
    const otherPort = await udpPeer(6);
    const otherAddress = createSocket('udp4');
    toClose.push(() => new Promise<void>((r) => otherAddress.close(() => r())));
    await new Promise<void>((r) => otherAddress.bind(client.port, '127.0.0.1', () => r()));
    // the relay stopped: the first packet (the client's, which makes it the peer) and the strangers' all wait in its socket
    process.kill(p.pid as number, 'SIGSTOP');
    try {
      await client.send(Buffer.from('one'), port);
      for (let i = 0; i < 40; i++) {
        await otherPort.send(Buffer.from('stranger'), port);
        await new Promise<void>((r, j) => otherAddress.send('stranger', port, '127.0.0.1', (e) => (e ? j(e) : r())));
      }
    } finally {
      process.kill(p.pid as number, 'SIGCONT');
    }
    const answered = (word: string) => client.received.some((r) => r.data.toString() === word);
    await waitFor(() => answered('eno'), 20000, 'the answer to one');
    await client.send(Buffer.from('two'), port);
    await waitFor(() => answered('owt'), 20000, 'the answer to two');
    expect(p.errors()).toContain('N data path: datagram batches (recvmmsg, sendmmsg)');
    const passed = echo.received.map((r) => r.data.toString());
    expect(passed.filter((d) => d === 'stranger').length, `what reached the echo: ${passed.length} packets`).toBe(0);
    expect(passed).toEqual(['one', 'two']);
  });
});
