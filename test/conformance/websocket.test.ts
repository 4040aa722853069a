import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { freePort } from '../helpers.js';
import { certificatesForFile } from '../tls-peers.js';
import { wsEchoServers } from '../ws-peers.js';
import { asEndpoint, openAddress, testEndpoint } from './suite.js';

const { certs } = certificatesForFile();
const echoServer = wsEchoServers();

/** The far side of an accepted peer: a ws client that sends back every message it gets. */
function echoingClient(url: string, ca?: Buffer): WebSocket {
  const client = new WebSocket(url, { ca });
  client.on('error', () => {});
  client.on('message', (data, binary) => client.send(data as Buffer, { binary }));
  // the endpoint half-closes by sending its close frame; ws answers it with its own, after every echo sent
  return client;
}

testEndpoint({
  name: 'WS:<url>',
  open: async () => {
    const echo = await echoServer();
    return { endpoint: asEndpoint(await openAddress(`WS:ws://127.0.0.1:${echo.port}/`)), received: 'echo', cleanup: echo.close };
  },
  failing: async () => `WS:ws://127.0.0.1:${await freePort()}/`,
});

testEndpoint({
  name: 'WS-LISTEN:<port> (the accepted peer)',
  open: async () => {
    const port = await freePort();
    const listener = await openAddress(`WS-LISTEN:${port},bind=127.0.0.1`);
    if (listener.kind !== 'listener') throw new Error('expected a listener');
    const client = echoingClient(`ws://127.0.0.1:${port}/`);
    const endpoint = await listener.accept();
    await endpoint.ready;
    await listener.close();
    return { endpoint, received: 'echo', cleanup: async () => void client.terminate() };
  },
  // 192.0.2.1 (TEST-NET-1) is no address of this machine: bind() fails
  failing: () => 'WS-LISTEN:0,bind=192.0.2.1',
});

testEndpoint({
  name: 'WSS:<url>',
  open: async () => {
    const port = await freePort();
    const listener = await openAddress(`WSS-LISTEN:${port},bind=127.0.0.1,cert=${certs().server},key=${certs().serverKey},verify=0`);
    if (listener.kind !== 'listener') throw new Error('expected a listener');
    const accepted = listener.accept();
    const endpoint = asEndpoint(await openAddress(`WSS:wss://localhost:${port}/,cafile=${certs().ca}`));
    // the far side: the accepted peer, echoing
    const peer = await accepted;
    await peer.ready;
    await listener.close();
    peer.readable?.pipe(peer.writable as NodeJS.WritableStream);
    peer.readable?.once('end', () => peer.shutdownWrite());
    return { endpoint, received: 'echo', cleanup: () => peer.close() };
  },
  failing: async () => `WSS:wss://127.0.0.1:${await freePort()}/,cafile=${certs().ca}`,
});

testEndpoint({
  name: 'WSS-LISTEN:<port> (the accepted peer)',
  open: async () => {
    const port = await freePort();
    const listener = await openAddress(`WSS-LISTEN:${port},bind=127.0.0.1,cert=${certs().server},key=${certs().serverKey},verify=0`);
    if (listener.kind !== 'listener') throw new Error('expected a listener');
    const client = echoingClient(`wss://localhost:${port}/`, readFileSync(certs().ca));
    const endpoint = await listener.accept();
    await endpoint.ready;
    await listener.close();
    return { endpoint, received: 'echo', cleanup: async () => void client.terminate() };
  },
  failing: () => 'WSS-LISTEN:1,bind=127.0.0.1',
});
