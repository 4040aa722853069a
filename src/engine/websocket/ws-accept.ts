/**
 * WS-LISTEN and WSS-LISTEN: TCP-LISTEN's listener (with OPENSSL-LISTEN's
 * handshake for WSS), and for each accepted peer the HTTP upgrade, read by
 * Node's HTTP parser and answered by the ws package. Credentials and the
 * subprotocol are checked before the upgrade; a peer that fails them gets an
 * HTTP answer that says why, and its session ends with an E line.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { TsocatError } from '../../errors.js';
import { crypto as loadCrypto, http as loadHttp, ws as loadWs } from '../../sys/builtins.js';
import type { AddressRequest, OpenContext } from '../context.js';
import type { Listener } from '../endpoint.js';
import { tlsServer } from '../handshakes/tls-connection.js';
import { formatSockaddr } from '../sockets/inet.js';
import { openTcpListener } from '../sockets/tcp-listener.js';
import { websocketEndpoint } from './ws-endpoint.js';
import { type WsSettings, wsSettings } from './ws-settings.js';

interface Waiting {
  peerName: string;
  resolve(ws: WebSocket): void;
  reject(err: TsocatError): void;
}

/** An HTTP answer that ends the connection: status line, extra headers, no body. */
function answer(socket: Duplex, status: string, headers: string[] = []): void {
  socket.end([`HTTP/1.1 ${status}`, ...headers, 'Connection: close', 'Content-Length: 0', '', ''].join('\r\n'));
}

/** Compares credentials in constant time (through their hashes, so lengths do not show either). */
function sameSecret(given: string, expected: string): boolean {
  const { createHash, timingSafeEqual } = loadCrypto();
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The subprotocols a client offers, from its Sec-WebSocket-Protocol header. */
function offeredProtocols(req: IncomingMessage): string[] {
  return (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/** Why a peer's upgrade request is refused (with the HTTP answer), or undefined to let it in. */
function refusal(req: IncomingMessage, settings: WsSettings): { why: string; status: string; headers?: string[] } | undefined {
  if (settings.authorization !== undefined && !sameSecret(req.headers.authorization ?? '', settings.authorization)) {
    return { why: `${req.headers.authorization ? 'wrong' : 'no'} credentials (ws-auth)`, status: '401 Unauthorized', headers: ['WWW-Authenticate: Basic realm="tsocat"'] };
  }
  if (settings.protocol !== undefined && !offeredProtocols(req).includes(settings.protocol)) {
    return { why: `subprotocol "${settings.protocol}" not offered (ws-protocol)`, status: '400 Bad Request' };
  }
  return undefined;
}

/**
 * One HTTP server (never listening) and one ws server for a listener; each
 * accepted connection is handed to them and settles with its WebSocket.
 */
function upgrader(settings: WsSettings): (connection: Duplex, peerName: string) => Promise<WebSocket> {
  const { WebSocketServer } = loadWs();
  const waiting = new Map<Duplex, Waiting>();
  // the subprotocol is chosen only when ws-protocol names it: a relay speaks no protocol of its own
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: settings.deflate, clientTracking: false, handleProtocols: (offered) => (settings.protocol !== undefined && offered.has(settings.protocol) ? settings.protocol : false) });
  wss.on('headers', (headers) => {
    for (const [name, value] of settings.headers) headers.push(`${name}: ${value}`);
  });
  const server = loadHttp().createServer();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const peer = waiting.get(socket);
    if (!peer) return void socket.destroy();
    const refused = refusal(req, settings);
    if (refused) {
      answer(socket, refused.status, refused.headers);
      return peer.reject(new TsocatError(`refusing WebSocket connection from ${peer.peerName}: ${refused.why}`, 'EWSREFUSED'));
    }
    wss.handleUpgrade(req, socket, head, (ws) => peer.resolve(ws));
  });
  server.on('request', (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    res.writeHead(426, { Upgrade: 'websocket', Connection: 'close', 'Content-Length': 0 }).end();
    waiting.get(req.socket)?.reject(new TsocatError(`refusing connection from ${waiting.get(req.socket)?.peerName}: ${req.method} ${req.url} is no WebSocket upgrade`, 'EWSREFUSED'));
  });
  server.on('clientError', (err: Error, socket: Duplex) => {
    waiting.get(socket)?.reject(new TsocatError(`WebSocket handshake with ${waiting.get(socket)?.peerName}: ${err.message}`, 'EWSHANDSHAKE'));
    socket.destroy();
  });
  return (connection, peerName) =>
    new Promise((resolve, reject) => {
      const closed = () => settle.reject(new TsocatError(`WebSocket handshake with ${peerName}: connection closed by peer`, 'EWSHANDSHAKE'));
      const done = () => {
        waiting.delete(connection);
        connection.off('close', closed);
      };
      const settle: Waiting = {
        peerName,
        resolve: (ws) => {
          done();
          resolve(ws);
        },
        reject: (err) => {
          done();
          // an answer being written is sent before the connection goes
          connection.end(() => connection.destroy());
          reject(err);
        },
      };
      connection.once('close', closed);
      waiting.set(connection, settle);
      server.emit('connection', connection);
      // the listener keeps accepted sockets paused until someone reads them
      connection.resume();
    });
}

/** WS-LISTEN (`secure` false) and WSS-LISTEN: one peer's endpoint per accepted connection, usable once its upgrade is done. */
export async function openWebSocketListener(req: AddressRequest, ctx: OpenContext, secure: boolean): Promise<Listener> {
  const settings = wsSettings(req.options);
  const tlsPeer = secure ? await tlsServer(req, ctx) : undefined;
  const upgrade = upgrader(settings);
  const kind = secure ? 'WSS' : 'WS';
  return openTcpListener(req, ctx, (tcp: Socket) => {
    const peerName = formatSockaddr(tcp.remoteAddress, tcp.remotePort);
    const tls = tlsPeer?.(tcp);
    const connection = tls?.socket ?? tcp;
    const { endpoint, attach } = websocketEndpoint({ description: `${kind} ${peerName}`, mode: req.mode, settings, log: ctx.log, connection });
    endpoint.ready = (async () => {
      if (tls) endpoint.connectionInfo = { ...endpoint.connectionInfo, ...(await tls.ready) };
      const ws = await upgrade(connection, peerName);
      attach(ws);
      ctx.log.log('N', `WebSocket connection from ${peerName}${ws.protocol ? ` with subprotocol "${ws.protocol}"` : ''}`);
    })();
    // the session reports a failed upgrade; unheard it would be an unhandled rejection
    endpoint.ready.catch(() => {});
    return endpoint;
  });
}
