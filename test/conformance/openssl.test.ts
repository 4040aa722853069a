import { readFileSync } from 'node:fs';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { freePort } from '../helpers.js';
import { certificatesForFile } from '../tls-peers.js';
import { asEndpoint, openAddress, testEndpoint } from './suite.js';

const { certs } = certificatesForFile();

/** A TLS echo server on loopback that ends its side after the client ended its own. */
async function tlsEcho() {
  const sockets = new Set<TLSSocket>();
  const server = createTlsServer({ cert: readFileSync(certs().server), key: readFileSync(certs().serverKey), allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

testEndpoint({
  name: 'OPENSSL:<host>:<port>',
  open: async () => {
    const echo = await tlsEcho();
    const endpoint = asEndpoint(await openAddress(`OPENSSL:localhost:${echo.port},cafile=${certs().ca}`));
    return { endpoint, received: 'echo', cleanup: echo.close };
  },
  failing: async () => `OPENSSL:127.0.0.1:${await freePort()},cafile=${certs().ca}`,
});

testEndpoint({
  name: 'OPENSSL-LISTEN:<port> (the accepted peer)',
  open: async () => {
    const port = await freePort();
    const listener = await openAddress(`OPENSSL-LISTEN:${port},bind=127.0.0.1,cert=${certs().server},key=${certs().serverKey},verify=0`);
    if (listener.kind !== 'listener') throw new Error('expected a listener');
    // the far side: a TLS client that echoes whatever the accepted endpoint sends
    const client = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca: readFileSync(certs().ca), allowHalfOpen: true } as Parameters<typeof tlsConnect>[0]);
    client.on('error', () => {});
    client.pipe(client);
    const endpoint = await listener.accept();
    await endpoint.ready;
    await listener.close();
    return { endpoint, received: 'echo', cleanup: async () => void client.destroy() };
  },
  failing: () => 'OPENSSL-LISTEN:1,bind=127.0.0.1',
});
