/**
 * The endpoint contract for RFC2217:<host>:<port>. The far side is a TCP echo
 * server: it mirrors the client's telnet offers back (WILL COM-PORT-OPTION
 * returned is the server's agreement), and with no line options there are no
 * commands to answer, so what remains is the data path with its 0xFF doubling.
 * The real server (SERIAL,rfc2217) is met in test/integration/rfc2217.test.ts.
 */
import { freePort } from '../helpers.js';
import { echoServer } from '../socket-helpers.js';
import { asEndpoint, openAddress, testEndpoint } from './suite.js';

testEndpoint({
  name: 'RFC2217:<host>:<port>',
  open: async () => {
    const far = await echoServer();
    const endpoint = asEndpoint(await openAddress(`RFC2217:127.0.0.1:${far.port}`));
    return { endpoint, received: 'echo', cleanup: far.close };
  },
  failing: async () => `RFC2217:127.0.0.1:${await freePort()}`,
});
