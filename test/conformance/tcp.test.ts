import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../helpers.js';
import { asEndpoint, openAddress, testEndpoint } from './suite.js';

/** A loopback echo server that keeps half-close semantics (echoes, then ends after the client ends). */
async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

testEndpoint({
  name: 'TCP:<host>:<port>',
  open: async () => {
    const echo = await echoServer();
    const endpoint = asEndpoint(await openAddress(`TCP:127.0.0.1:${echo.port}`));
    return { endpoint, received: 'echo', cleanup: echo.close };
  },
  failing: async () => `TCP:127.0.0.1:${await freePort()}`,
});

testEndpoint({
  name: 'TCP-LISTEN:<port> (the accepted peer)',
  open: async () => {
    const port = await freePort();
    const listener = await openAddress(`TCP-LISTEN:${port},bind=127.0.0.1`);
    if (listener.kind !== 'listener') throw new Error('expected a listener');
    // the far side: a client that echoes whatever the accepted endpoint sends
    const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    client.pipe(client);
    const endpoint = await listener.accept();
    await listener.close();
    return { endpoint, received: 'echo', cleanup: async () => void client.destroy() };
  },
  failing: () => 'TCP-LISTEN:99999',
});
