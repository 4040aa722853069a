/**
 * The PROXY protocol header (HAProxy's specification, versions 1 and 2): what
 * a load balancer puts in front of a connection to say whom it came from.
 * A pure encoder and a parser that trusts none of the bytes: it says "need
 * more", "done after N bytes", or throws a TsocatError naming what is wrong.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { TsocatError } from '../../errors.js';
import type { ReplyParser } from './handshake-reader.js';
import { sockaddrBytes } from '../sockets/inet.js';

/** The connection a header describes; undefined addresses: UNKNOWN (v1) or LOCAL / UNSPEC (v2), the receiver uses the real ones. */
export interface ProxiedConnection {
  family?: 4 | 6;
  source?: { address: string; port: number };
  destination?: { address: string; port: number };
}

export interface ProxyHeader extends ProxiedConnection {
  version: 1 | 2;
}

/** v1's longest header, CRLF included (spec §2.1). */
export const V1_MAX_BYTES = 107;
const V1_PREFIX = Buffer.from('PROXY ');
/** v2's twelve-byte signature (spec §2.2). */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED = 16;
const V2_PROXY = 0x21;
const V2_LOCAL = 0x20;
const V2_TCP4 = 0x11;
const V2_TCP6 = 0x21;
/** Address block sizes by family nibble: INET, INET6, UNIX. */
const V2_ADDRESS_BYTES: Record<number, number> = { 1: 12, 2: 36, 3: 216 };

/** What is wrong with a header; the caller adds whose it was. */
function malformed(why: string): TsocatError {
  return new TsocatError(why, 'EPROXYHEADER');
}

/** The raw bytes of an IP address (4 or 16). */
function addressBytes(address: string): Buffer {
  const sa = sockaddrBytes(address, 0);
  return isIPv6(address) ? sa.subarray(8, 24) : sa.subarray(4, 8);
}

/** Both ends in one family: IPv4 peers on an IPv6 socket (::ffff:a.b.c.d) go as IPv6 when the other end is IPv6. */
function sameFamily(c: ProxiedConnection): { family: 4 | 6; source: string; destination: string } | undefined {
  const s = c.source?.address;
  const d = c.destination?.address;
  if (!s || !d) return undefined;
  if (isIPv4(s) && isIPv4(d)) return { family: 4, source: s, destination: d };
  const v6 = (a: string) => (isIPv4(a) ? `::ffff:${a}` : a);
  if ((isIPv4(s) || isIPv6(s)) && (isIPv4(d) || isIPv6(d))) return { family: 6, source: v6(s), destination: v6(d) };
  return undefined;
}

/** The header for `c` in version 1 (text) or 2 (binary); without both addresses, v1's UNKNOWN or v2's LOCAL. */
export function encodeProxyHeader(version: 1 | 2, c: ProxiedConnection): Buffer {
  const ends = sameFamily(c);
  const sport = c.source?.port ?? 0;
  const dport = c.destination?.port ?? 0;
  if (version === 1) {
    if (!ends) return Buffer.from('PROXY UNKNOWN\r\n');
    return Buffer.from(`PROXY TCP${ends.family} ${ends.source} ${ends.destination} ${sport} ${dport}\r\n`);
  }
  if (!ends) return Buffer.concat([V2_SIGNATURE, Buffer.from([V2_LOCAL, 0x00, 0x00, 0x00])]);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(sport, 0);
  ports.writeUInt16BE(dport, 2);
  const block = Buffer.concat([addressBytes(ends.source), addressBytes(ends.destination), ports]);
  const fixed = Buffer.from([V2_PROXY, ends.family === 4 ? V2_TCP4 : V2_TCP6, 0, 0]);
  fixed.writeUInt16BE(block.length, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, block]);
}

/** A port as v1 writes it: decimal, no leading zero, at most 65535. */
function v1Port(text: string | undefined): number {
  if (text === undefined || !/^(0|[1-9][0-9]{0,4})$/.test(text) || Number(text) > 65535) throw malformed(`bad port "${text ?? ''}"`);
  return Number(text);
}

/** v1 IPv4 addresses have no leading zeros (spec §2.1: no octal confusion). */
function v1Address(text: string | undefined, family: 4 | 6): string {
  const ok = family === 4 ? text !== undefined && isIPv4(text) && !/(^|\.)0[0-9]/.test(text) : text !== undefined && isIPv6(text) && !text.includes('.') && !text.includes('%');
  if (!ok) throw malformed(`bad TCP${family} address "${text ?? ''}"`);
  return text as string;
}

function parseV1(bytes: Buffer): { value: ProxyHeader; consumed: number } | undefined {
  const end = bytes.indexOf('\r\n');
  if (end < 0) {
    if (bytes.length >= V1_MAX_BYTES) throw malformed(`version 1 line longer than ${V1_MAX_BYTES} bytes`);
    return undefined;
  }
  if (end + 2 > V1_MAX_BYTES) throw malformed(`version 1 line longer than ${V1_MAX_BYTES} bytes`);
  const line = bytes.subarray(0, end).toString('latin1');
  const fields = line.split(' ');
  const protocol = fields[1];
  if (protocol === 'UNKNOWN') return { value: { version: 1 }, consumed: end + 2 };
  if (protocol !== 'TCP4' && protocol !== 'TCP6') throw malformed(`unknown protocol "${protocol ?? ''}" (TCP4, TCP6 or UNKNOWN)`);
  if (fields.length !== 6) throw malformed(`version 1 line has ${fields.length} fields, not 6`);
  const family = protocol === 'TCP4' ? 4 : 6;
  const value: ProxyHeader = {
    version: 1,
    family,
    source: { address: v1Address(fields[2], family), port: v1Port(fields[4]) },
    destination: { address: v1Address(fields[3], family), port: v1Port(fields[5]) },
  };
  return { value, consumed: end + 2 };
}

function v2Address(block: Buffer, family: 4 | 6): string {
  if (family === 4) return [...block].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(block.readUInt16BE(i).toString(16));
  return groups.join(':');
}

function parseV2(bytes: Buffer): { value: ProxyHeader; consumed: number } | undefined {
  if (bytes.length < V2_FIXED) return undefined;
  const verCmd = bytes[12] as number;
  const famProto = bytes[13] as number;
  const length = bytes.readUInt16BE(14);
  if (verCmd >> 4 !== 2) throw malformed(`version ${verCmd >> 4} after the version 2 signature`);
  const command = verCmd & 0x0f;
  if (command > 1) throw malformed(`unknown command ${command} (0 LOCAL, 1 PROXY)`);
  if (bytes.length < V2_FIXED + length) return undefined;
  const consumed = V2_FIXED + length;
  const addressFamily = famProto >> 4;
  const transport = famProto & 0x0f;
  if (addressFamily > 3 || transport > 2) throw malformed(`unknown address family or transport 0x${famProto.toString(16).padStart(2, '0')}`);
  const needed = V2_ADDRESS_BYTES[addressFamily] ?? 0;
  if (length < needed) throw malformed(`${length} bytes of addresses, ${needed} needed`);
  // LOCAL (the proxy's own connection, a health check) and families other than TCP over IP: the receiver keeps the real addresses
  if (command === 0 || transport !== 1 || (addressFamily !== 1 && addressFamily !== 2)) return { value: { version: 2 }, consumed };
  const family = addressFamily === 1 ? 4 : 6;
  const size = family === 4 ? 4 : 16;
  const block = bytes.subarray(V2_FIXED, V2_FIXED + needed);
  return {
    value: {
      version: 2,
      family,
      source: { address: v2Address(block.subarray(0, size), family), port: block.readUInt16BE(2 * size) },
      destination: { address: v2Address(block.subarray(size, 2 * size), family), port: block.readUInt16BE(2 * size + 2) },
    },
    consumed,
  };
}

/** A prefix of `whole`, as far as `bytes` goes. */
const startsLike = (bytes: Buffer, whole: Buffer) => whole.subarray(0, Math.min(bytes.length, whole.length)).equals(bytes.subarray(0, Math.min(bytes.length, whole.length)));

/** Reads a v1 or v2 header from the first bytes of a connection. */
export const parseProxyHeader: ReplyParser<ProxyHeader> = (bytes) => {
  if (bytes.length === 0) return undefined;
  if (startsLike(bytes, V2_SIGNATURE)) return bytes.length < V2_SIGNATURE.length ? undefined : parseV2(bytes);
  if (startsLike(bytes, V1_PREFIX)) return bytes.length < V1_PREFIX.length ? undefined : parseV1(bytes);
  throw malformed('missing (the connection does not start with "PROXY " or the version 2 signature)');
};
