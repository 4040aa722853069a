/**
 * SOCKS4, SOCKS4A and SOCKS5 messages: requests we build and parsers for the
 * server's replies that trust none of its bytes (lengths are checked before
 * anything is read, every code outside the protocol is an error).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { TsocatError } from '../../errors.js';
import type { ReplyParser } from './handshake-reader.js';

// ---- SOCKS4 / SOCKS4A ----

export function socks4Request(opts: { port: number; ipv4?: string; hostname?: string; user: string }): Buffer {
  const head = Buffer.alloc(8);
  head[0] = 4;
  head[1] = 1; // CONNECT
  head.writeUInt16BE(opts.port, 2);
  // SOCKS4A: address 0.0.0.1 and the name after the user id, for the server to resolve
  const ip = opts.hostname === undefined ? (opts.ipv4 as string) : '0.0.0.1';
  ip.split('.').forEach((octet, i) => {
    head[4 + i] = Number(octet);
  });
  const parts = [head, Buffer.from(opts.user, 'latin1'), Buffer.from([0])];
  if (opts.hostname !== undefined) parts.push(Buffer.from(opts.hostname, 'latin1'), Buffer.from([0]));
  return Buffer.concat(parts);
}

const SOCKS4_REFUSALS: Record<number, string> = {
  91: 'socks: connect request rejected or failed',
  92: 'socks: ident refused by client',
  93: 'socks: ident failed',
};

/** The 8-byte reply; `warn` hears of a reply version other than 0, which socat only warns about. */
export function socks4ReplyParser(warn: (message: string) => void): ReplyParser<{ port: number; address: string }> {
  return (bytes) => {
    if (bytes.length < 8) return undefined;
    if (bytes[0] !== 0) warn(`socks: reply code version is not 0 (${bytes[0]})`);
    const code = bytes[1] as number;
    if (code !== 90) throw new TsocatError(SOCKS4_REFUSALS[code] ?? `socks: undefined status ${code}`, 'ESOCKS');
    return { value: { port: bytes.readUInt16BE(2), address: [...bytes.subarray(4, 8)].join('.') }, consumed: 8 };
  };
}

// ---- SOCKS5 ----

export const SOCKS5_NO_AUTH = 0;
export const SOCKS5_USER_PASS = 2;

export function socks5Hello(withPassword: boolean): Buffer {
  return Buffer.from(withPassword ? [5, 2, SOCKS5_NO_AUTH, SOCKS5_USER_PASS] : [5, 1, SOCKS5_NO_AUTH]);
}

/** The server's choice of method; one we did not offer (or 0xFF, none acceptable) is an error. */
export function socks5MethodParser(offered: readonly number[]): ReplyParser<number> {
  return (bytes) => {
    if (bytes.length < 2) return undefined;
    if (bytes[0] !== 5) throw new TsocatError(`SOCKS5 server hello version was ${bytes[0]}, not the expected 5, peer might not be a SOCKS5 server`, 'ESOCKS');
    const method = bytes[1] as number;
    if (!offered.includes(method)) throw new TsocatError('authentication with SOCKS5 server failed', 'ESOCKS');
    return { value: method, consumed: 2 };
  };
}

/** RFC 1929 username/password request; fails (before anything is sent) when either is longer than 255 bytes. */
export function socks5AuthRequest(user: string, password: string): Buffer {
  const u = Buffer.from(user, 'utf8');
  const p = Buffer.from(password, 'utf8');
  if (u.length > 255 || p.length > 255) throw new TsocatError('SOCKS5 user name and password are limited to 255 bytes each', 'EOPTVALUE');
  return Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([p.length]), p]);
}

export function socks5AuthParser(user: string): ReplyParser<void> {
  return (bytes) => {
    if (bytes.length < 2) return undefined;
    if (bytes[1] !== 0) throw new TsocatError(`SOCKS5 authentication for user "${user}" failed`, 'ESOCKSAUTH');
    return { value: undefined, consumed: 2 };
  };
}

export const SOCKS5_CONNECT = 1;
export const SOCKS5_BIND = 2;

export function socks5Request(command: number, host: string, port: number): Buffer {
  let address: Buffer;
  if (isIPv4(host)) address = Buffer.from([1, ...host.split('.').map(Number)]);
  else if (isIPv6(host)) address = Buffer.concat([Buffer.from([4]), ipv6Bytes(host)]);
  else {
    const name = Buffer.from(host, 'utf8');
    if (name.length > 255) throw new TsocatError(`SOCKS5: host name "${host.slice(0, 40)}..." longer than 255 bytes`, 'EOPTVALUE');
    address = Buffer.concat([Buffer.from([3, name.length]), name]);
  }
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(port);
  return Buffer.concat([Buffer.from([5, command, 0]), address, portBytes]);
}

function ipv6Bytes(text: string): Buffer {
  const [head = '', tail] = text.split('::');
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  for (const [i, g] of all.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}

const SOCKS5_REPLIES: Record<number, string> = {
  1: 'general SOCKS server failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

export interface Socks5Reply {
  address: string;
  port: number;
}

/** A request's reply: version, code, reserved byte, then an address whose length its type gives. */
export function socks5ReplyParser(): ReplyParser<Socks5Reply> {
  return (bytes) => {
    if (bytes.length < 4) return undefined;
    if (bytes[0] !== 5) throw new TsocatError(`SOCKS5 reply version was ${bytes[0]}, not the expected 5, peer might not be a SOCKS5 server`, 'ESOCKS');
    const code = bytes[1] as number;
    if (code !== 0) throw new TsocatError(`SOCKS5 server error ${code}: ${SOCKS5_REPLIES[code] ?? 'unknown error'}`, 'ESOCKS');
    const type = bytes[3];
    let addressLength: number;
    let offset = 4;
    if (type === 1) addressLength = 4;
    else if (type === 4) addressLength = 16;
    else if (type === 3) {
      if (bytes.length < 5) return undefined;
      addressLength = bytes[4] as number;
      offset = 5;
    } else throw new TsocatError(`SOCKS5 reply with unknown address type ${type}`, 'ESOCKS');
    const total = offset + addressLength + 2;
    if (bytes.length < total) return undefined;
    const raw = bytes.subarray(offset, offset + addressLength);
    const address =
      type === 1
        ? [...raw].join('.')
        : type === 4
          ? Array.from({ length: 8 }, (_, i) => raw.readUInt16BE(i * 2).toString(16)).join(':')
          : raw.toString('latin1').replace(/[^\x20-\x7e]/g, '?');
    return { value: { address, port: bytes.readUInt16BE(offset + addressLength) }, consumed: total };
  };
}
