import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { boundTcpSocket } from '../../src/sys/libc.js';
import { AF_INET, formatSockaddr, sockaddrBytes } from '../../src/engine/sockets/inet.js';
import { freePort } from '../helpers.js';
import { openAddress, testEndpoint } from './suite.js';

const require = createRequire(import.meta.url);

/** A listening socket bound by hand, as a supervisor (systemd) would hand it over: its descriptor and port. */
async function inheritedListener(): Promise<{ fd: number; port: number }> {
  const port = await freePort();
  const fd = boundTcpSocket(AF_INET, sockaddrBytes('127.0.0.1', port), formatSockaddr('127.0.0.1', port), { reuseAddr: 1 });
  const koffi = require('koffi') as typeof import('koffi');
  const listen = koffi.load('libc.so.6').func('int listen(int, int)') as (fd: number, backlog: number) => number;
  if (listen(fd, 5) !== 0) throw new Error('listen() failed');
  return { fd, port };
}

testEndpoint({
  name: 'ACCEPT-FD:<fdnum> (the accepted peer)',
  open: async () => {
    const { fd, port } = await inheritedListener();
    const listener = await openAddress(`ACCEPT-FD:${fd}`);
    if (listener.kind !== 'listener') throw new Error('expected a listener');
    // the far side: a client that echoes whatever the accepted endpoint sends
    const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    client.pipe(client);
    const endpoint = await listener.accept();
    await listener.close();
    return { endpoint, received: 'echo', cleanup: async () => void client.destroy() };
  },
  // a descriptor that is not open: refused as accept() would refuse it
  failing: () => 'ACCEPT-FD:1023',
});
