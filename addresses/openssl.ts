/**
 * OPENSSL (SSL) and OPENSSL-LISTEN (SSL-L): TLS over TCP with Node's tls
 * module. The TCP side is TCP's and TCP-LISTEN's own code (connectTcpSocket,
 * openTcpListener), so every TCP, socket and listener option works as there.
 * A listener's handshake runs per peer (Endpoint.ready): a slow or refused
 * client holds up no other.
 */
import { defineAddress } from '../src/define.js';
import { connectTls, tlsServer } from '../src/engine/handshakes/tls-connection.js';
import { connectWithReconnect } from '../src/engine/opening/reconnect.js';
import { formatSockaddr } from '../src/engine/sockets/inet.js';
import { socketEndpoint } from '../src/engine/sockets/socket-endpoint.js';
import { openTcpListener } from '../src/engine/sockets/tcp-listener.js';

const CLIENT_GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'OPENSSL', 'CHILD', 'RETRY', 'RECONNECT', 'APPL', 'PROXYPROTO'] as const;
const SERVER_GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'LISTEN', 'OPENSSL', 'CHILD', 'RANGE', 'RETRY', 'APPL'] as const;

const client = defineAddress({
  listed: ['OPENSSL', 'SSL'],
  names: ['OPENSSL', 'OPENSSL-CONNECT', 'SSL'],
  params: ['host', 'port'],
  groups: CLIENT_GROUPS,
  features: ['OPENSSL'],
  summary: 'TLS client: connect to <host>:<port> and check its certificate (cafile, commonname; verify=0 skips)',
  async open(req, ctx) {
    const connect = async () => {
      const { socket, tcp, env } = await connectTls(req, ctx, req.params[0] as string, req.params[1] as string);
      const endpoint = socketEndpoint(socket, `OPENSSL ${formatSockaddr(tcp.remoteAddress, tcp.remotePort)}`, req.mode);
      endpoint.connectionInfo = env;
      return endpoint;
    };
    // reconnect: each new connection makes its TLS handshake and checks the certificate again
    return connectWithReconnect(connect, req.options, ctx);
  },
});

const server = defineAddress({
  listed: ['OPENSSL-LISTEN', 'SSL-L'],
  names: ['OPENSSL-LISTEN', 'SSL-L', 'SSL-LISTEN'],
  params: ['port'],
  groups: SERVER_GROUPS,
  features: ['OPENSSL', 'LISTEN'],
  summary: 'TLS server: listen on <port> (cert= required; verify=1 with cafile= requires client certificates)',
  workers: true,
  async open(req, ctx) {
    const handshake = await tlsServer(req, ctx);
    return openTcpListener(req, ctx, (tcp) => {
      const { socket, ready } = handshake(tcp);
      // the remote address is asked of the TCP socket: the TLS one may be destroyed before anyone logs it
      const endpoint = socketEndpoint(socket, `OPENSSL ${formatSockaddr(tcp.remoteAddress, tcp.remotePort)}`, req.mode);
      endpoint.ready = ready.then((env) => {
        endpoint.connectionInfo = { ...endpoint.connectionInfo, ...env };
      });
      endpoint.ready.catch(() => {});
      return endpoint;
    });
  },
});

export default [client, server];
