/**
 * The endpoint contract for OPENSSL-DTLS-CLIENT and OPENSSL-DTLS-SERVER, each
 * against the other opened in the same process as the far side, which echoes
 * (its half-close follows the end of what it read). One record of bytes makes
 * the round trip (DTLS keeps boundaries as UDP does), and writes never block:
 * the kernel drops a datagram it cannot queue.
 */
import type { Endpoint } from '../../src/engine/endpoint.js';
import { freePort } from '../helpers.js';
import { certificatesForFile } from '../tls-peers.js';
import { asEndpoint, openAddress, testEndpoint } from './suite.js';

const { certs } = certificatesForFile();

/** A DTLS server and a client connected to it: the server's listener opened first, its peer accepted as the client connects. */
async function pair(): Promise<{ client: Endpoint; server: Endpoint }> {
  const c = certs();
  const port = await freePort();
  const listener = await openAddress(`OPENSSL-DTLS-SERVER:${port},bind=127.0.0.1,cert=${c.server},key=${c.serverKey},verify=0`);
  if (listener.kind !== 'listener') throw new Error('expected a listener');
  const accepted = listener.accept();
  const client = asEndpoint(await openAddress(`OPENSSL-DTLS-CLIENT:127.0.0.1:${port},cafile=${c.ca}`));
  const server = await accepted;
  await server.ready;
  await listener.close();
  return { client, server };
}

/** The far side echoes each record back and ends its side when its input ends. */
function echo(far: Endpoint): () => Promise<void> {
  far.readable?.pipe(far.writable as NodeJS.WritableStream);
  return () => far.close();
}

const NO_BACKPRESSURE = 'a DTLS record is a datagram: the kernel drops one it cannot queue, a write never blocks';

testEndpoint({
  name: 'OPENSSL-DTLS-CLIENT:<host>:<port>',
  size: 8000,
  noBackpressure: NO_BACKPRESSURE,
  open: async () => {
    const { client, server } = await pair();
    return { endpoint: client, received: 'echo', cleanup: echo(server) };
  },
  failing: async () => `OPENSSL-DTLS-CLIENT:127.0.0.1:${await freePort()},cafile=${certs().ca},so-rcvtimeo=1`,
});

testEndpoint({
  name: 'OPENSSL-DTLS-SERVER:<port>',
  size: 8000,
  noBackpressure: NO_BACKPRESSURE,
  open: async () => {
    const { client, server } = await pair();
    return { endpoint: server, received: 'echo', cleanup: echo(client) };
  },
  failing: () => 'OPENSSL-DTLS-SERVER:1,bind=127.0.0.1',
});
