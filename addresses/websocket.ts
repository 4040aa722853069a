/**
 * WS, WSS, WS-LISTEN and WSS-LISTEN: WebSocket (RFC 6455) over TCP, or over
 * TLS with every OPENSSL option, on the ws package (loaded only when one of
 * these opens). Messages are relayed as bytes; see src/engine/websocket/.
 */
import { defineAddress } from '../src/define.js';
import { openWebSocketListener } from '../src/engine/websocket/ws-accept.js';
import { connectWebSocket } from '../src/engine/websocket/ws-connect.js';

const CLIENT_GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'CHILD', 'RETRY', 'APPL', 'WEBSOCKET'] as const;
const SERVER_GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'LISTEN', 'CHILD', 'RANGE', 'RETRY', 'APPL', 'WEBSOCKET'] as const;

const client = defineAddress({
  names: ['WS'],
  params: ['url'],
  restParam: true,
  groups: CLIENT_GROUPS,
  features: [],
  summary: 'WebSocket client: connect to ws://<host>[:<port>][/<path>] and relay its messages',
  async open(req, ctx) {
    return connectWebSocket(req, ctx, false);
  },
});

const secureClient = defineAddress({
  names: ['WSS'],
  params: ['url'],
  restParam: true,
  groups: [...CLIENT_GROUPS, 'OPENSSL'],
  features: [],
  summary: 'WebSocket client over TLS: connect to wss://<host>[:<port>][/<path>] (OPENSSL options check the server)',
  async open(req, ctx) {
    return connectWebSocket(req, ctx, true);
  },
});

const server = defineAddress({
  names: ['WS-LISTEN', 'WS-L'],
  params: ['port'],
  groups: SERVER_GROUPS,
  features: [],
  workers: true,
  summary: 'WebSocket server: listen on <port>, accept one client (or one session per client with fork)',
  async open(req, ctx) {
    return openWebSocketListener(req, ctx, false);
  },
});

const secureServer = defineAddress({
  names: ['WSS-LISTEN', 'WSS-L'],
  params: ['port'],
  groups: [...SERVER_GROUPS, 'OPENSSL'],
  features: [],
  workers: true,
  summary: 'WebSocket server over TLS: listen on <port> (cert= required, every OPENSSL-LISTEN option)',
  async open(req, ctx) {
    return openWebSocketListener(req, ctx, true);
  },
});

export default [client, secureClient, server, secureServer];
