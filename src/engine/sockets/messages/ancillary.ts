/**
 * The control messages that come with a received packet (recvmsg()'s
 * ancillary data), read as socat reads them (xiodopacketinfo): each message
 * is one type (IP_PKTINFO, IP_TTL, SCM_TIMESTAMP…) with one or more
 * name=value fields. Every receiving datagram address logs each field at
 * info level (`ancillary message: IP_TTL: ttl=53`); a …-RECVFROM address
 * also gives them to the program it starts, as SOCAT_<variable>.
 *
 * The options that ask the kernel for these messages are set in
 * ../ip-sockopts.ts (ANCILLARY_SOCKOPTS).
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Logger } from '../../../log/logger.js';
import { environmentAddress } from '../inet.js';

const SOL_SOCKET = 1;
const SOL_IP = 0;
const SOL_IPV6 = 41;

/** Bytes of control buffer per packet, as socat's ctrlbuff. */
export const CONTROL_SIZE = 1024;

/** One field of a control message: socat's type, name, variable (without SOCAT_) and value. */
export interface AncillaryField {
  type: string;
  name: string;
  variable: string;
  value: string;
}

function interfaceName(index: number): string {
  try {
    for (const name of readdirSync('/sys/class/net')) {
      if (Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8')) === index) return name;
    }
  } catch {
    // no sysfs: the index stands in for the name
  }
  return String(index);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** socat's timestamp value: ctime()'s local time without its newline, then the microseconds, six digits as socat's %06ld. */
function timestampText(seconds: number, micros: number): string {
  const d = new Date(seconds * 1000);
  const day = String(d.getDate()).padStart(2, ' ');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${day} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}, ${String(micros).padStart(6, '0')} usecs`;
}

/** socat's xiodump: "x" and the bytes in hex. */
const dump = (data: Buffer): string => `x${data.toString('hex')}`;

const ipv4 = (b: Buffer): string => [...b].join('.');

/** socat's variable when it names none: the type alone when it ends with the name (IP_TTL/ttl), else TYPE_name. */
function field(type: string, name: string, value: string, variable?: string): AncillaryField {
  const v = variable ?? (type.length > name.length && type.toLowerCase().endsWith(name.toLowerCase()) ? type : `${type}_${name}`);
  return { type, name, variable: v, value };
}

function socketLevel(type: number, data: Buffer): AncillaryField[] {
  if (type === 29 && data.length >= 16) {
    return [field('SCM_TIMESTAMP', 'timestamp', timestampText(Number(data.readBigInt64LE(0)), Number(data.readBigInt64LE(8))), 'TIMESTAMP')];
  }
  return [field(`SOCKET.${type}`, 'data', dump(data))];
}

function ipLevel(type: number, data: Buffer): AncillaryField[] {
  switch (type) {
    case 8: // IP_PKTINFO: struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
      if (data.length < 12) break;
      return [
        field('IP_PKTINFO', 'if', interfaceName(data.readInt32LE(0)), 'IP_IF'),
        field('IP_PKTINFO', 'locaddr', ipv4(data.subarray(4, 8)), 'IP_LOCADDR'),
        field('IP_PKTINFO', 'dstaddr', ipv4(data.subarray(8, 12)), 'IP_DSTADDR'),
      ];
    case 11: {
      // IP_RECVERR: struct sock_extended_err { u32 errno; u8 origin, type, code, pad; u32 info, data; }
      if (data.length < 16) break;
      const parts: Array<[string, number]> = [
        ['errno', data.readUInt32LE(0)],
        ['origin', data.readUInt8(4)],
        ['type', data.readUInt8(5)],
        ['code', data.readUInt8(6)],
        ['info', data.readUInt32LE(8)],
        ['data', data.readUInt32LE(12)],
      ];
      return parts.map(([name, n]) => field('IP_RECVERR', name, String(n), `IP_RECVERR_${name.toUpperCase()}`));
    }
    case 4: // IP_OPTIONS
    case 6: // IP_RECVOPTS
      return [field('IP_OPTIONS', 'options', dump(data))];
    case 1: // IP_TOS: one byte
      return [field('IP_TOS', 'tos', data.length === 1 ? String(data.readUInt8(0)) : dump(data))];
    case 2: // IP_TTL: an int
      return [field('IP_TTL', 'ttl', data.length === 4 ? String(data.readUInt32LE(0)) : dump(data))];
  }
  return [field('IP', `type_${type}`, dump(data))];
}

function ipv6Level(type: number, data: Buffer): AncillaryField[] {
  switch (type) {
    case 50: {
      // IPV6_PKTINFO: struct in6_pktinfo { in6_addr addr; int ifindex; }
      if (data.length < 20) break;
      const groups = Array.from({ length: 8 }, (_, i) => data.readUInt16BE(2 * i).toString(16));
      return [field('IPV6_PKTINFO', 'dstaddr', environmentAddress(groups.join(':')), 'IPV6_DSTADDR'), field('IPV6_PKTINFO', 'if', interfaceName(data.readInt32LE(16)), 'IPV6_IF')];
    }
    case 52: // IPV6_HOPLIMIT: an int
      if (data.length < 4) break;
      return [field('IPV6_HOPLIMIT', 'hoplimit', String(data.readInt32LE(0)))];
    case 67: {
      // IPV6_TCLASS: an int, dumped in network byte order as socat does
      if (data.length < 4) break;
      const be = Buffer.alloc(4);
      be.writeUInt32BE(data.readUInt32LE(0));
      return [field('IPV6_TCLASS', 'tclass', dump(be))];
    }
  }
  return [field(`IPV6.${type}`, 'data', dump(data))];
}

/** The fields of every control message in `control` (struct cmsghdr on 64-bit Linux: size_t len, int level, int type, data, each 8-byte aligned). */
export function ancillaryFields(control: Buffer): AncillaryField[] {
  const out: AncillaryField[] = [];
  for (let at = 0; at + 16 <= control.length; ) {
    const len = Number(control.readBigUInt64LE(at));
    if (len < 16 || at + len > control.length) break;
    const level = control.readInt32LE(at + 8);
    const type = control.readInt32LE(at + 12);
    const data = control.subarray(at + 16, at + len);
    if (level === SOL_SOCKET) out.push(...socketLevel(type, data));
    else if (level === SOL_IP) out.push(...ipLevel(type, data));
    else if (level === SOL_IPV6) out.push(...ipv6Level(type, data));
    else out.push(field(`LEVEL${level}`, `type${type}`, dump(data)));
    at += (len + 7) & ~7;
  }
  return out;
}

/** socat's notices for a few messages (-d -d), before the info lines. */
function notice(fields: AncillaryField[], log: Logger): void {
  const of = (type: string, name: string) => fields.find((f) => f.type === type && f.name === name)?.value;
  const iface = of('IP_PKTINFO', 'if');
  if (iface !== undefined) log.log('N', `Ancillary message: interface "${iface}", locaddr=${of('IP_PKTINFO', 'locaddr')}, dstaddr=${of('IP_PKTINFO', 'dstaddr')}`);
  for (const name of ['tos', 'ttl']) {
    const value = of(`IP_${name.toUpperCase()}`, name);
    if (value !== undefined && !value.startsWith('x')) log.log('N', `Ancillary message: ${name}=${value}`);
  }
}

/** Logs one packet's control messages as socat does, and returns them as the program's variables (without the SOCAT_ prefix). */
export function reportAncillary(control: Buffer | undefined, log: Logger): Record<string, string> {
  if (!control || control.length === 0) return {};
  const fields = ancillaryFields(control);
  if (log.enabled('N')) notice(fields, log);
  const variables: Record<string, string> = {};
  for (const f of fields) {
    log.log('I', `ancillary message: ${f.type}: ${f.name}=${f.value}`);
    variables[f.variable] = f.value;
  }
  return variables;
}
