/**
 * The TLS rows' ceiling: a bare Node TLS server (tls.createServer, Node's defaults) that pipes each
 * connection to the echo server on 127.0.0.1:<echo port>, the work a TLS relay does per peer with
 * nothing else. Prints "ready" once it listens; exits when its stdin closes.
 *   node bench/tls/node-server.mjs <port> <cert.pem> <key.pem> <echo port>
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createServer } from 'node:tls';

const [port, cert, key, echoPort] = process.argv.slice(2);
const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (peer) => {
  const echo = connect(Number(echoPort), '127.0.0.1');
  peer.pipe(echo).pipe(peer);
  peer.on('error', () => echo.destroy());
  echo.on('error', () => peer.destroy());
});
server.on('tlsClientError', () => {});
server.listen(Number(port), '127.0.0.1', () => console.log('ready'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
