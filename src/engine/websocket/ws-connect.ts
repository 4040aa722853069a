/**
 * WS and WSS: TCP's connect (with OPENSSL's TLS for WSS) and then the
 * WebSocket opening handshake over that very socket, so every TCP, socket
 * and OPENSSL option applies as on those addresses.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { TsocatError } from '../../errors.js';
import { ws as loadWs } from '../../sys/builtins.js';
import type { AddressRequest, OpenContext } from '../context.js';
import type { Endpoint } from '../endpoint.js';
import { connectTls } from '../handshakes/tls-connection.js';
import { connectTcpSocket } from '../sockets/tcp-connect.js';
import { formatSockaddr } from '../sockets/inet.js';
import { websocketEndpoint } from './ws-endpoint.js';
import { parseWsUrl, wsSettings } from './ws-settings.js';

/** Settles when the opening handshake is done; rejects with what went wrong, the server's HTTP answer included. */
function opened(ws: WebSocket, url: string, timeoutSeconds: number | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = timeoutSeconds === undefined ? undefined : setTimeout(() => fail('Opening handshake has timed out'), timeoutSeconds * 1000);
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new TsocatError(`WebSocket handshake with ${url}: ${why}`, 'EWSHANDSHAKE'));
    };
    ws.once('open', () => {
      clearTimeout(timer);
      ws.off('error', onError);
      resolve();
    });
    const onError = (err: Error) => fail(err.message);
    ws.once('error', onError);
    ws.once('unexpected-response', (request: ClientRequest, response: IncomingMessage) => {
      fail(`the server answered ${response.statusCode} ${response.statusMessage ?? ''}`.trimEnd());
      request.destroy();
    });
  });
}

export async function connectWebSocket(req: AddressRequest, ctx: OpenContext, secure: boolean): Promise<Endpoint> {
  const settings = wsSettings(req.options);
  const { url, port } = parseWsUrl(req.params[0] as string, secure);
  let connection: Duplex & { remoteAddress?: string; remotePort?: number };
  let env: Record<string, string> | undefined;
  let peer: string;
  if (secure) {
    const tls = await connectTls(req, ctx, url.hostname, port);
    [connection, env, peer] = [tls.socket, tls.env, formatSockaddr(tls.tcp.remoteAddress, tls.tcp.remotePort)];
  } else {
    const tcp = await connectTcpSocket(req, ctx, url.hostname, port);
    [connection, peer] = [tcp, formatSockaddr(tcp.remoteAddress, tcp.remotePort)];
  }
  const headers: Record<string, string[]> = {};
  for (const [name, value] of settings.headers) headers[name] = [...(headers[name] ?? []), value];
  if (settings.authorization !== undefined) headers.Authorization = [settings.authorization];
  // back to "no consumer yet" (the TLS client leaves its socket paused): ws's HTTP client starts reading when it listens
  (connection as { readableFlowing: boolean | null }).readableFlowing = null;
  const { WebSocket } = loadWs();
  const ws = new WebSocket(url, settings.protocol !== undefined ? [settings.protocol] : [], {
    // the connection is ours, made with the address's options; ws only speaks HTTP over it
    createConnection: () => connection as import('node:net').Socket,
    headers: headers as unknown as Record<string, string>,
    perMessageDeflate: settings.deflate,
    followRedirects: false,
  });
  try {
    // as on PROXY and SOCKS, connect-timeout bounds the handshake too
    await opened(ws, url.href, req.options.number('connect-timeout'));
  } catch (err) {
    ws.terminate();
    connection.destroy();
    throw err;
  }
  ctx.log.log('N', `successfully connected to WebSocket server ${url.href}${ws.protocol ? ` with subprotocol "${ws.protocol}"` : ''}`);
  const { endpoint, attach } = websocketEndpoint({ description: `${secure ? 'WSS' : 'WS'} ${peer}`, mode: req.mode, settings, log: ctx.log, connection });
  attach(ws);
  if (env) endpoint.connectionInfo = env;
  return endpoint;
}
