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
const SO_EE_ORIGIN_ICMP = 2;
const SO_EE_ORIGIN_ICMP6 = 3;

/** Bytes of control buffer per packet, as socat's ctrlbuff. */
export const CONTROL_SIZE = 1024;

/** One field of a control message: socat's type, name, variable (without SOCAT_) and value. */
export interface AncillaryField {
  type: string;
  name: string;
  variable: string;
  value: string;
  /** socat's notice (-d -d) for the message this field starts, logged before its info lines. */
  notice?: string;
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

/** A byte or an int as a number, with socat's notice; other lengths dumped. */
function numeric(type: string, name: string, data: Buffer): AncillaryField {
  const n = data.length === 1 ? data.readUInt8(0) : data.length === 4 ? data.readUInt32LE(0) : undefined;
  return n === undefined ? field(type, name, dump(data)) : { ...field(type, name, String(n)), notice: `Ancillary message: ${name}=${n}` };
}

function socketLevel(type: number, data: Buffer): AncillaryField[] {
  if (type === 29 && data.length >= 16) {
    return [field('SCM_TIMESTAMP', 'timestamp', timestampText(Number(data.readBigInt64LE(0)), Number(data.readBigInt64LE(8))), 'TIMESTAMP')];
  }
  return [field(`SOCKET.${type}`, 'data', dump(data))];
}

function ipLevel(type: number, data: Buffer): AncillaryField[] {
  switch (type) {
    case 8: {
      // IP_PKTINFO: struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
      if (data.length < 12) break;
      const [iface, loc, dst] = [interfaceName(data.readInt32LE(0)), ipv4(data.subarray(4, 8)), ipv4(data.subarray(8, 12))];
      return [
        { ...field('IP_PKTINFO', 'if', iface, 'IP_IF'), notice: `Ancillary message: interface "${iface}", locaddr=${loc}, dstaddr=${dst}` },
        field('IP_PKTINFO', 'locaddr', loc, 'IP_LOCADDR'),
        field('IP_PKTINFO', 'dstaddr', dst, 'IP_DSTADDR'),
      ];
    }
    case 11: {
      // IP_RECVERR: struct sock_extended_err { u32 errno; u8 origin, type, code, pad; u32 info, data; }, then the offender's sockaddr
      if (data.length < 16) break;
      const [errno, origin, icmpType, code, info, more] = [data.readUInt32LE(0), data.readUInt8(4), data.readUInt8(5), data.readUInt8(6), data.readUInt32LE(8), data.readUInt32LE(12)];
      const details = `type ${icmpType}, code ${code}, info ${info}, data ${more}`;
      const notice =
        origin === SO_EE_ORIGIN_ICMP && data.length >= 24
          ? `received ICMP from ${ipv4(data.subarray(20, 24))}, ${details}, resulting in errno ${errno}`
          : origin === SO_EE_ORIGIN_ICMP6
            ? `received ICMP ${details}, resulting in errno ${errno}`
            : `received error message origin ${origin}, ${details}, generating errno ${errno}`;
      const parts: Array<[string, number]> = [
        ['errno', errno],
        ['origin', origin],
        ['type', icmpType],
        ['code', code],
        ['info', info],
        ['data', more],
      ];
      return parts.map(([name, n], i) => ({ ...field('IP_RECVERR', name, String(n), `IP_RECVERR_${name.toUpperCase()}`), notice: i === 0 ? notice : undefined }));
    }
    case 4: // IP_OPTIONS
    case 6: // IP_RECVOPTS
      return [field('IP_OPTIONS', 'options', dump(data))];
    case 1: // IP_TOS: one byte
      return [numeric('IP_TOS', 'tos', data)];
    case 2: // IP_TTL: an int
      return [numeric('IP_TTL', 'ttl', data)];
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
    case 54: // IPV6_HOPOPTS: the header as received (next header, length, options), dumped as socat does
      return [field('IPV6_HOPOPTS', 'hopopts', dump(data))];
    case 59: // IPV6_DSTOPTS: likewise
      return [field('IPV6_DSTOPTS', 'dstopts', dump(data))];
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

/** Logs one packet's control messages as socat does, and returns them as the program's variables (without the SOCAT_ prefix). */
export function reportAncillary(control: Buffer | undefined, log: Logger): Record<string, string> {
  if (!control || control.length === 0) return {};
  const variables: Record<string, string> = {};
  for (const f of ancillaryFields(control)) {
    if (f.notice) log.log('N', f.notice);
    log.log('I', `ancillary message: ${f.type}: ${f.name}=${f.value}`);
    variables[f.variable] = f.value;
  }
  return variables;
}
