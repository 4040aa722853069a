/**
 * The WEBSOCKET options of one address read once, as both sides use them:
 * framing, keepalive, subprotocol, extra headers, basic authentication.
 */
import type { ResolvedOptions } from '../../../options/catalog.js';
import { TsocatError } from '../../errors.js';

/** How written bytes become messages: text when they are UTF-8 (auto), or always one kind. */
export type Framing = 'auto' | 'text' | 'binary';

export interface WsSettings {
  framing: Framing;
  /** Seconds between pings; undefined: no pings of our own (pings from the peer are always answered). */
  pingSeconds?: number;
  protocol?: string;
  /** Extra headers, each [name, value], in the order given. */
  headers: Array<[string, string]>;
  /** Per-message deflate offered (client) or accepted (listener). */
  deflate: boolean;
  /** `Basic <base64 of user:password>`, when ws-auth is given. */
  authorization?: string;
}

function splitHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  return [text.slice(0, colon), text.slice(colon + 1).trim()];
}

export function wsSettings(o: ResolvedOptions): WsSettings {
  if (o.bool('ws-binary') && o.bool('ws-text')) throw new TsocatError('options "ws-binary" and "ws-text" exclude each other', 'EOPTVALUE');
  const ping = o.number('ws-ping');
  const auth = o.string('ws-auth');
  return {
    framing: o.bool('ws-binary') ? 'binary' : o.bool('ws-text') ? 'text' : 'auto',
    // ws-ping=0 asks for no pings, as an interval of zero would otherwise spin
    pingSeconds: ping ? ping : undefined,
    protocol: o.string('ws-protocol'),
    headers: o.list('ws-header').map(splitHeader),
    deflate: o.bool('ws-deflate'),
    authorization: auth === undefined ? undefined : `Basic ${Buffer.from(auth).toString('base64')}`,
  };
}

/**
 * `WS:<url>`'s URL: ws:// (or wss:// for WSS), its scheme optional; the host,
 * port (80 or 443 by default) and path the request asks for.
 */
export function parseWsUrl(text: string, secure: boolean): { url: URL; host: string; port: string } {
  const scheme = secure ? 'wss' : 'ws';
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `${scheme}://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new TsocatError(`"${text}": not a URL (expected ${scheme}://<host>[:<port>][/<path>])`, 'EPARAMS');
  }
  if (url.protocol !== `${scheme}:`) throw new TsocatError(`"${text}": ${secure ? 'WSS' : 'WS'} takes a ${scheme}:// URL`, 'EPARAMS');
  if (url.hash) throw new TsocatError(`"${text}": a WebSocket URL has no fragment (#)`, 'EPARAMS');
  return { url, host: url.hostname, port: url.port || (secure ? '443' : '80') };
}
