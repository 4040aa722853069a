/**
 * The endpoint contract for the UDP and UDP-Lite addresses. A datagram
 * endpoint's writes are packets, so the round trip uses one packet's worth
 * of bytes (8000), and writes never block (the kernel drops what it cannot
 * queue), so backpressure is not asked of them. The far side is a real
 * socket of the same protocol on loopback (UDP-Lite's made by tsocat's own
 * socket layer, since node:dgram has no UDP-Lite).
 */
import type { Socket as DgramSocket } from 'node:dgram';
import { expect, it } from 'vitest';
import { ResolvedOptions } from '../../options/catalog.js';
import type { Endpoint } from '../../src/engine/endpoint.js';
import { IPPROTO_UDP, IPPROTO_UDPLITE, openUdpSocket } from '../../src/engine/sockets/messages/udp-socket.js';
import { waitFor } from '../helpers.js';
import { asEndpoint, openAddress, testEndpoint } from './suite.js';

interface FarSide {
  socket: DgramSocket;
  port: number;
  packets: Buffer[];
  close: () => Promise<void>;
}

async function farSide(protocol: number): Promise<FarSide> {
  const socket = await openUdpSocket({ family: 4, protocol, local: { address: '127.0.0.1', port: 0 }, options: new ResolvedOptions() });
  const packets: Buffer[] = [];
  socket.on('message', (m) => packets.push(m));
  return { socket, port: socket.address().port, packets, close: () => new Promise((r) => socket.close(() => r())) };
}

const send = (far: FarSide, data: string, port: number) => new Promise<void>((r) => far.socket.send(data, port, '127.0.0.1', () => r()));

/** What the far side received, empty packets (an end-of-input marker) left out. */
const receivedBy = (far: FarSide) => async () => {
  await waitFor(() => far.packets.some((p) => p.length > 0), 3000).catch(() => {});
  return Buffer.concat(far.packets.filter((p) => p.length > 0));
};

const NO_BACKPRESSURE = 'a datagram socket never blocks a write: the kernel drops a packet it cannot queue';

for (const [stem, protocol] of [
  ['UDP', IPPROTO_UDP],
  ['UDPLITE', IPPROTO_UDPLITE],
] as const) {
  for (const kind of ['CONNECT', 'SENDTO', 'DATAGRAM'] as const) {
    testEndpoint({
      name: `${stem}-${kind}:<host>:<port>`,
      size: 8000,
      noBackpressure: NO_BACKPRESSURE,
      open: async () => {
        const far = await farSide(protocol);
        const endpoint = asEndpoint(await openAddress(`${stem}-${kind}:127.0.0.1:${far.port}`));
        return { endpoint, received: receivedBy(far), cleanup: far.close };
      },
      failing: () => `${stem}-${kind}:127.0.0.1:99999`,
    });
  }

  for (const kind of ['LISTEN', 'RECVFROM'] as const) {
    testEndpoint({
      name: `${stem}-${kind}:<port> (the session of the first sender)`,
      size: 8000,
      noBackpressure: NO_BACKPRESSURE,
      open: async () => {
        const far = await farSide(protocol);
        const port = far.port + 1 > 65535 ? far.port - 1 : far.port + 1;
        const listener = await openAddress(`${stem}-${kind}:${port},bind=127.0.0.1`);
        if (listener.kind !== 'listener') throw new Error('expected a listener');
        await send(far, 'hello', port);
        const endpoint: Endpoint = await listener.accept();
        await listener.close();
        return { endpoint, received: receivedBy(far), cleanup: far.close };
      },
      failing: () => `${stem}-${kind}:99999`,
    });
  }

  it(`${stem}-RECV:<port> reads each packet as one chunk, from any sender`, async () => {
    const far = await farSide(protocol);
    const port = far.port + 1 > 65535 ? far.port - 1 : far.port + 1;
    const endpoint = asEndpoint(await openAddress(`${stem}-RECV:${port},bind=127.0.0.1`));
    const chunks: Buffer[] = [];
    endpoint.source?.start({
      data: (c, release) => {
        chunks.push(Buffer.from(c));
        release();
      },
      end: () => {},
      error: () => {},
    });
    await send(far, 'first', port);
    await send(far, 'second', port);
    await waitFor(() => chunks.length >= 2);
    expect(chunks.map(String)).toEqual(['first', 'second']);
    expect(endpoint.writable).toBeUndefined();
    await endpoint.close();
    await far.close();
  });
}

// with options that ask for control messages the socket is read with recvmsg() (ancillary-socket.ts): the same contract
const ANCILLARY = 'ip-pktinfo,ip-recvttl,ip-recvtos,ip-recvopts,ip-recverr,so-timestamp';

testEndpoint({
  name: `UDP4-RECVFROM:<port>,${ANCILLARY} (read with recvmsg(); the session of the first sender)`,
  size: 8000,
  noBackpressure: NO_BACKPRESSURE,
  open: async () => {
    const far = await farSide(IPPROTO_UDP);
    const port = far.port + 1 > 65535 ? far.port - 1 : far.port + 1;
    const listener = await openAddress(`UDP4-RECVFROM:${port},bind=127.0.0.1,${ANCILLARY}`);
    if (listener.kind !== 'listener') throw new Error('expected a listener');
    await send(far, 'hello', port);
    const endpoint: Endpoint = await listener.accept();
    await listener.close();
    expect(endpoint.connectionInfo).toMatchObject({ IP_TTL: '64', IP_TOS: '0', IP_IF: 'lo', IP_DSTADDR: '127.0.0.1' });
    return { endpoint, received: receivedBy(far), cleanup: far.close };
  },
  failing: () => `UDP4-RECVFROM:99999,${ANCILLARY}`,
});

it('UDP6-RECV:<port>,ipv6-recvpktinfo,ipv6-recvhoplimit,ipv6-recvtclass reads each packet as one chunk, from any sender', async () => {
  const far = await openUdpSocket({ family: 6, protocol: IPPROTO_UDP, local: { address: '::1', port: 0 }, options: new ResolvedOptions() });
  const farPort = far.address().port;
  const port = farPort + 1 > 65535 ? farPort - 1 : farPort + 1;
  const endpoint = asEndpoint(await openAddress(`UDP6-RECV:${port},bind=[::1],ipv6-recvpktinfo,ipv6-recvhoplimit,ipv6-recvtclass`));
  const chunks: Buffer[] = [];
  endpoint.source?.start({
    data: (c, release) => {
      chunks.push(Buffer.from(c));
      release();
    },
    end: () => {},
    error: () => {},
  });
  for (const data of ['first', 'second']) await new Promise<void>((r) => far.send(data, port, '::1', () => r()));
  await waitFor(() => chunks.length >= 2);
  expect(chunks.map(String)).toEqual(['first', 'second']);
  await endpoint.close();
  await new Promise<void>((r) => far.close(() => r()));
});
