/** TCP-LISTEN, TCP4-LISTEN, TCP6-LISTEN: accept peers on <port>; with fork, any number of them. */
import { defineAddress } from '../src/define.js';
import { proxiedPeers } from '../src/engine/handshakes/proxy-header-use.js';
import { openTcpListener } from '../src/engine/sockets/tcp-listener.js';

const GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'LISTEN', 'CHILD', 'RANGE', 'RETRY', 'APPL', 'PROXYPROTO-L'] as const;

export default defineAddress({
  listed: ['TCP-LISTEN', 'TCP4-LISTEN', 'TCP6-LISTEN'],
  names: ['TCP-LISTEN', 'TCP-L', 'TCP4-LISTEN', 'TCP4-L', 'TCP6-LISTEN', 'TCP6-L', 'INET-LISTEN', 'INET-L', 'INET4-LISTEN', 'INET4-L', 'INET6-LISTEN', 'INET6-L'],
  params: ['port'],
  groups: GROUPS,
  features: ['TCP', 'LISTEN', 'IP4', 'IP6'],
  summary: 'TCP server: listen on <port>, accept one peer (or one session per peer with fork)',
  workers: true,
  async open(req, ctx) {
    // with proxy-protocol, range applies to the client the header names, not to the proxy that connected
    if (req.options.bool('proxy-protocol')) return openTcpListener(req, ctx, await proxiedPeers(req, ctx), false);
    return openTcpListener(req, ctx);
  },
});
