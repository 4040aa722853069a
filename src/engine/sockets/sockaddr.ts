/**
 * struct sockaddr as bytes, for the sockets made through koffi
 * (src/sys/sockets.ts): building them from what a user wrote, and reading
 * them back for log lines and SOCAT_PEERADDR. Linux layouts, host byte order
 * for the family, network order for ports.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { TsocatError } from '../../errors.js';
import { AF_INET, AF_INET6, AF_UNIX } from '../../sys/sockets.js';

/** sun_path's size: a longer path cannot be a UNIX socket address. */
const UNIX_PATH_MAX = 108;

/** A UNIX socket address; `abstract` puts the name in Linux's abstract namespace (no file). */
export function unixSockaddr(path: string, abstract = false): Buffer {
  const name = Buffer.from(path);
  // a path needs its NUL, an abstract name its leading NUL: either way 107 bytes of name at most
  if (name.length > UNIX_PATH_MAX - 1) {
    throw new TsocatError(`UNIX socket address "${path}" is too long (max. ${UNIX_PATH_MAX - 1} bytes)`, 'ENAMETOOLONG');
  }
  // abstract: a leading NUL and exactly the name's bytes; a path: NUL-terminated
  const addr = Buffer.alloc(2 + (abstract ? 1 : 0) + name.length + (abstract ? 0 : 1));
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, abstract ? 3 : 2);
  return addr;
}

/** An IPv4 or IPv6 socket address from a numeric address and a port. */
export function inetSockaddr(ip: string, port: number): Buffer {
  if (isIPv4(ip)) {
    const addr = Buffer.alloc(16);
    addr.writeUInt16LE(AF_INET, 0);
    addr.writeUInt16BE(port, 2);
    for (const [i, part] of ip.split('.').entries()) addr.writeUInt8(Number(part), 4 + i);
    return addr;
  }
  if (isIPv6(ip)) {
    const addr = Buffer.alloc(28);
    addr.writeUInt16LE(AF_INET6, 0);
    addr.writeUInt16BE(port, 2);
    ipv6Bytes(ip).copy(addr, 8);
    return addr;
  }
  throw new TsocatError(`"${ip}" is not a numeric IP address`, 'EINVAL');
}

function ipv6Bytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  let text = ip;
  // a dotted IPv4 tail (::ffff:1.2.3.4) is two more groups
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const [a, b, c, d] = (dotted[1] as string).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -(dotted[1] as string).length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}

export const AF_VSOCK = 40;

/** struct sockaddr_vm: family, reserved, port, cid, flags and padding; 16 bytes. */
export function vsockSockaddr(cid: number, port: number): Buffer {
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(AF_VSOCK, 0);
  addr.writeUInt32LE(port, 4);
  addr.writeUInt32LE(cid, 8);
  return addr;
}

export type ParsedSockaddr =
  | { family: 'unix'; path: string; abstract: boolean; unnamed: boolean }
  | { family: 'inet4'; address: string; port: number }
  | { family: 'inet6'; address: string; port: number }
  | { family: 'other'; af: number; bytes: Buffer };

/** Reads a socket address back. */
export function parseSockaddr(addr: Buffer): ParsedSockaddr {
  const af = addr.length >= 2 ? addr.readUInt16LE(0) : 0;
  if (af === AF_UNIX) {
    const body = addr.subarray(2);
    if (body.length === 0) return { family: 'unix', path: '', abstract: false, unnamed: true };
    if (body[0] === 0) return { family: 'unix', path: body.subarray(1).toString(), abstract: true, unnamed: false };
    const end = body.indexOf(0);
    return { family: 'unix', path: body.subarray(0, end < 0 ? body.length : end).toString(), abstract: false, unnamed: false };
  }
  if (af === AF_INET && addr.length >= 8) {
    return { family: 'inet4', address: [...addr.subarray(4, 8)].join('.'), port: addr.readUInt16BE(2) };
  }
  if (af === AF_INET6 && addr.length >= 24) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(addr.readUInt16BE(8 + i * 2).toString(16));
    return { family: 'inet6', address: compressIPv6(groups), port: addr.readUInt16BE(2) };
  }
  return { family: 'other', af, bytes: addr.subarray(2) };
}

function compressIPv6(groups: string[]): string {
  // the longest run of zero groups (two or more) becomes "::"
  let best = { at: -1, len: 0 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  if (best.len < 2) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

/** A socket address as socat writes it in log lines: `AF=1 "/path"`, `AF=2 1.2.3.4:80`, `AF=10 [::1]:80`. */
export function describeSockaddr(addr: Buffer): string {
  const p = parseSockaddr(addr);
  // NULs (the leading one of an abstract name, the padding of an untight one) written as socat writes them: \0
  if (p.family === 'unix') return `AF=1 "${p.unnamed ? '<anon>' : (p.abstract ? `\0${p.path}` : p.path).replace(/\0/g, '\\0')}"`;
  if (p.family === 'inet4') return `AF=2 ${p.address}:${p.port}`;
  if (p.family === 'inet6') return `AF=10 [${p.address}]:${p.port}`;
  if (p.af === AF_VSOCK && addr.length >= 12) return `AF=40 cid:${addr.readUInt32LE(8)} port:${addr.readUInt32LE(4)}`;
  return `AF=${p.af} 0x${p.bytes.toString('hex')}`;
}
