/** TCP, TCP4, TCP6: connect to <host>:<port>. */
import { defineAddress } from '../src/define.js';
import { sendProxyHeader } from '../src/engine/handshakes/proxy-header-use.js';
import { formatSockaddr } from '../src/engine/sockets/inet.js';
import { socketEndpoint } from '../src/engine/sockets/socket-endpoint.js';
import { refuseSocketChoice } from '../src/engine/sockets/sockopts.js';
import { connectPlainTcp } from '../src/engine/sockets/tcp-connect.js';
import { connectWithReconnect } from '../src/engine/opening/reconnect.js';

const GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'CHILD', 'RETRY', 'RECONNECT', 'APPL', 'PROXYPROTO'] as const;

export default defineAddress({
  listed: ['TCP-CONNECT', 'TCP4-CONNECT', 'TCP6-CONNECT'],
  names: ['TCP', 'TCP-CONNECT', 'TCP4', 'TCP4-CONNECT', 'TCP6', 'TCP6-CONNECT', 'INET', 'INET4', 'INET6'],
  params: ['host', 'port'],
  groups: GROUPS,
  features: ['TCP', 'IP4', 'IP6'],
  summary: 'connect to a TCP server (TCP4/TCP6 force the IP version)',
  async open(req, ctx) {
    refuseSocketChoice(req.options, req.keyword);
    const connect = async () => {
      const { socket, reusing } = await connectPlainTcp(req, ctx, req.params[0] as string, req.params[1] as string);
      await sendProxyHeader(socket, req, ctx).catch((err) => {
        socket.destroy();
        throw err;
      });
      return socketEndpoint(reusing ?? socket, `TCP ${formatSockaddr(socket.remoteAddress, socket.remotePort)}`, req.mode);
    };
    // reconnect: one endpoint for the whole session over connections that may drop
    return connectWithReconnect(connect, req.options, ctx);
  },
});
