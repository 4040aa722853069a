/**
 * The descriptor-layer socket families: SOCKETPAIR, the generic SOCKET-*,
 * raw IP and INTERFACE. Stream sockets keep the whole endpoint contract;
 * datagram ones keep a contract of their own: one write is one message, and
 * a message comes back whole.
 */
import { createSocket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoint, Listener } from '../../src/engine/endpoint.js';
import { requireOrSkip } from '../helpers.js';
import { asEndpoint, collect, openAddress, testEndpoint } from './suite.js';

const hex4 = (port: number) => port.toString(16).padStart(4, '0');
const inet4 = (port: number) => `x${hex4(port)}7f000001x0000000000000000`;

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function echoServer(): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {}); // a peer closed by the backpressure case resets
    s.pipe(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return typeof a === 'object' && a ? a.port : 0;
}

/** The first `count` messages an endpoint delivers (copied). */
function messages(ep: Endpoint, count: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((resolve, reject) => {
    ep.readable?.on('data', (d: Buffer) => {
      got.push(Buffer.from(d));
      if (got.length === count) resolve(got);
    });
    ep.readable?.once('error', reject);
  });
}

const MESSAGES = [Buffer.from('one'), Buffer.alloc(40000, 7), Buffer.from('three')];

testEndpoint({
  name: 'SOCKETPAIR,type=1 (stream echo)',
  open: async () => ({ endpoint: asEndpoint(await openAddress('SOCKETPAIR,type=1')), received: 'echo' }),
  failing: () => 'SOCKETPAIR,type=99',
});

testEndpoint({
  name: 'SOCKET-CONNECT:2:6 (TCP) to an echo server',
  open: async () => ({ endpoint: asEndpoint(await openAddress(`SOCKET-CONNECT:2:6:${inet4(await echoServer())}`)), received: 'echo' }),
  failing: () => `SOCKET-CONNECT:2:6:${inet4(1)}`,
});

describe('datagram contract: one write is one message, and it comes back whole', () => {
  it('SOCKETPAIR (dgram by default)', async () => {
    const ep = asEndpoint(await openAddress('SOCKETPAIR'));
    expect(ep.datagram).toBe(true);
    const back = messages(ep, MESSAGES.length);
    for (const m of MESSAGES) ep.writable?.write(m);
    expect((await back).map((m) => m.length)).toEqual(MESSAGES.map((m) => m.length));
    await ep.close();
  });

  it('SOCKET-SENDTO and SOCKET-DATAGRAM to a UDP echo; SOCKET-RECV and SOCKET-RECVFROM from a UDP sender', async () => {
    const echo = createSocket('udp4');
    echo.on('message', (m, from) => echo.send(m, from.port, from.address));
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
    try {
      for (const kind of ['SENDTO', 'DATAGRAM']) {
        const ep = asEndpoint(await openAddress(`SOCKET-${kind}:2:2:17:${inet4(echo.address().port)}`));
        const back = messages(ep, MESSAGES.length);
        for (const m of MESSAGES) ep.writable?.write(m);
        expect((await back).map((m) => m.length), kind).toEqual(MESSAGES.map((m) => m.length));
        await ep.close();
      }
      const recv = asEndpoint(await openAddress(`SOCKET-RECV:2:2:17:${inet4(0)}`, { mode: 'r' }));
      await recv.close();
      const listener = (await openAddress(`SOCKET-RECVFROM:2:2:17:${inet4(0)}`)) as Listener;
      expect(listener.kind).toBe('listener');
      await listener.close();
    } finally {
      echo.close();
    }
  });

  it('SOCKET-LISTEN:2:6 accepts a TCP peer and relays both ways', async () => {
    const probe = await echoServer(); // a port that was free: close the echo and listen there
    for (const s of servers.splice(0)) s.close();
    const listener = (await openAddress(`SOCKET-LISTEN:2:6:${inet4(probe)}`)) as Listener;
    try {
      const client = connect(probe, '127.0.0.1');
      client.on('error', () => {}); // the endpoint closes without reading the client's end
      const ep = await listener.accept();
      const back = collect(client);
      // answered as it comes: the endpoint's readable closes the socket once it has ended
      ep.readable?.once('data', (d: Buffer) => ep.writable?.end(Buffer.from(d)));
      client.write('accepted');
      expect((await back).toString()).toBe('accepted');
      await ep.close();
    } finally {
      await listener.close();
    }
  });

  it('IP-SENDTO, IP-DATAGRAM, IP-RECV, IP-RECVFROM (raw IP, root)', async (ctx) => {
    requireOrSkip(ctx, 'root');
    const recv = asEndpoint(await openAddress('IP4-RECV:252,bind=127.0.0.3', { mode: 'r' }));
    const got = messages(recv, 1);
    for (const text of ['IP4-SENDTO:127.0.0.3:252', 'IP4-DATAGRAM:127.0.0.3:252']) {
      const ep = asEndpoint(await openAddress(text));
      ep.writable?.write(Buffer.from('raw'));
      await ep.close();
    }
    expect((await got)[0]?.toString()).toBe('raw');
    await recv.close();
    const listener = (await openAddress('IP4-RECVFROM:252,bind=127.0.0.4')) as Listener;
    await listener.close();
  });

  it('INTERFACE:lo (AF_PACKET, root): a frame sent on lo comes back in', async (ctx) => {
    requireOrSkip(ctx, 'root');
    const ep = asEndpoint(await openAddress('INTERFACE:lo'));
    const marker = Buffer.from(`conformance frame ${process.pid}`);
    const frame = Buffer.concat([Buffer.alloc(12, 0), Buffer.from('88b5', 'hex'), marker]);
    const seen = new Promise<void>((resolve) => {
      ep.readable?.on('data', (d: Buffer) => {
        if (d.includes(marker)) resolve();
      });
    });
    // the socket takes every frame on lo: under other tests' bulk traffic its receive buffer can be full and the
    // kernel drops the frame, so it is sent again every 200 ms until one comes back (at most 100 times)
    let sent = 0;
    const send = () => {
      if (sent++ < 100) ep.writable?.write(frame);
    };
    send();
    const again = setInterval(send, 200);
    try {
      await seen;
    } finally {
      clearInterval(again);
    }
    await ep.close();
  });
});
