/**
 * IP-level and generic socket options that are one setsockopt() each
 * (ttl, tos, multicast settings, memberships, broadcast…), for every IP
 * socket tsocat makes: UDP sockets before bind(), as socat sets them, and
 * TCP sockets once connected. Values are laid out as socat passes them.
 */
import type { ResolvedOptions } from '../../../options/catalog.js';
import { TsocatError } from '../../errors.js';
import { net } from '../../sys/builtins.js';
import { sockaddrBytes } from './inet.js';

const SOL_SOCKET = 1;
const SOL_IP = 0;
const SOL_IPV6 = 41;

/** How an option's value becomes setsockopt()'s bytes. */
type Layout = 'int' | 'byte' | 'in_addr' | 'mreqn' | 'mreq_source' | 'ipv6_mreq' | 'group_source_req';

interface SockoptRow {
  option: string;
  level: number;
  name: number;
  layout: Layout;
}

/** Linux's numbers (include/uapi/linux/in.h, asm-generic/socket.h). */
const ROWS: readonly SockoptRow[] = [
  { option: 'so-broadcast', level: SOL_SOCKET, name: 6, layout: 'int' },
  { option: 'ip-tos', level: SOL_IP, name: 1, layout: 'int' },
  { option: 'ip-ttl', level: SOL_IP, name: 2, layout: 'int' },
  { option: 'ip-multicast-if', level: SOL_IP, name: 32, layout: 'in_addr' },
  { option: 'ip-multicast-ttl', level: SOL_IP, name: 33, layout: 'byte' },
  { option: 'ip-multicast-loop', level: SOL_IP, name: 34, layout: 'byte' },
  { option: 'ip-add-membership', level: SOL_IP, name: 35, layout: 'mreqn' },
  { option: 'ip-add-source-membership', level: SOL_IP, name: 39, layout: 'mreq_source' },
  { option: 'ip-mtu-discover', level: SOL_IP, name: 10, layout: 'int' },
  { option: 'ipv6-unicast-hops', level: SOL_IPV6, name: 16, layout: 'int' },
  { option: 'ipv6-mtu-discover', level: SOL_IPV6, name: 23, layout: 'int' },
  { option: 'ipv6-tclass', level: SOL_IPV6, name: 67, layout: 'int' },
  { option: 'ipv6-multicast-loop', level: SOL_IPV6, name: 19, layout: 'int' },
  { option: 'ipv6-join-group', level: SOL_IPV6, name: 20, layout: 'ipv6_mreq' },
  { option: 'ipv6-join-source-group', level: SOL_IPV6, name: 46, layout: 'group_source_req' },
];

/** The option names this module applies. */
export const IP_SOCKOPT_NAMES: readonly string[] = ROWS.map((r) => r.option);

function in4(address: string, option: string): Buffer {
  if (!net().isIPv4(address)) throw new TsocatError(`option "${option}": "${address}" is not an IPv4 address`, 'EOPTVALUE');
  return Buffer.from(address.split('.').map(Number));
}

/** An interface given by index (digits) or name; 0 = any. */
async function interfaceIndexOf(text: string): Promise<number> {
  if (/^\d+$/.test(text)) return Number(text);
  const { interfaceIndex } = await import('../../sys/sockets.js');
  const index = interfaceIndex(text);
  if (index === 0) throw new TsocatError(`interface "${text}" not found`, 'EOPTVALUE');
  return index;
}

/**
 * ip-add-membership as socat reads it: <group>:<interface address>, <group>:<interface name or index>,
 * or <group>:<interface address>:<interface name or index>; struct ip_mreqn.
 */
async function mreqn(text: string, option: string): Promise<Buffer> {
  const [group = '', second, third] = text.split(':');
  if (second === undefined || text.split(':').length > 3) throw new TsocatError(`option "${option}": expected <multicast-address>:<interface>, got "${text}"`, 'EOPTVALUE');
  const secondIsAddress = net().isIPv4(second);
  const address = secondIsAddress ? second : '0.0.0.0';
  const ifText = third ?? (secondIsAddress ? undefined : second);
  const index = ifText === undefined ? 0 : await interfaceIndexOf(ifText);
  const out = Buffer.alloc(12);
  in4(group, option).copy(out, 0);
  in4(address, option).copy(out, 4);
  out.writeInt32LE(index, 8);
  return out;
}

/** ip-add-source-membership=<group>:<interface address>:<source>; struct ip_mreq_source. */
function mreqSource(text: string, option: string): Buffer {
  const parts = text.split(':');
  if (parts.length !== 3) throw new TsocatError(`option "${option}": expected <multicast-address>:<interface-address>:<source-address>, got "${text}"`, 'EOPTVALUE');
  const [group, iface, source] = parts as [string, string, string];
  return Buffer.concat([in4(group, option), in4(iface, option), in4(source, option)]);
}

/** ipv6-join-group=[<group>]:<interface name or index> (brackets optional; no interface: the kernel's choice); struct ipv6_mreq. */
function ipv6GroupParts(text: string, option: string): { group: string; ifText?: string } {
  const m = text.match(/^\[([^\]]+)\](?::(.+))?$/) ?? text.match(/^(.+?)(?::([^:]+))?$/);
  const group = m?.[1] ?? '';
  // unbracketed, the last part may be the group's own last group of digits: take it as an interface only when the rest is a group
  if (!m || !net().isIPv6(group)) {
    if (net().isIPv6(text)) return { group: text };
    throw new TsocatError(`option "${option}": expected [<IPv6 multicast address>]:<interface>, got "${text}"`, 'EOPTVALUE');
  }
  return { group, ifText: m[2] };
}

async function ipv6Mreq(text: string, option: string): Promise<Buffer> {
  const { group, ifText } = ipv6GroupParts(text, option);
  const out = Buffer.alloc(20);
  sockaddrBytes(group, 0).copy(out, 0, 8, 24);
  out.writeInt32LE(ifText === undefined ? 0 : await interfaceIndexOf(ifText), 16);
  return out;
}

/** ipv6-join-source-group=[<group>]:<interface>:[<source>], as socat splits it (brackets keep the addresses' colons). */
function sourceGroupParts(text: string, option: string): { group: string; ifText: string; source: string } {
  const m = text.match(/^\[([^\]]+)\]:([^:[\]]+):\[([^\]]+)\]$/);
  if (!m || !net().isIPv6(m[1] as string) || !net().isIPv6(m[3] as string)) {
    throw new TsocatError(`option "${option}": expected [<IPv6 multicast address>]:<interface>:[<IPv6 source address>], got "${text}"`, 'EOPTVALUE');
  }
  return { group: m[1] as string, ifText: m[2] as string, source: m[3] as string };
}

/** struct group_source_req on 64-bit Linux: the interface index, then two struct sockaddr_storage (128 bytes each, from offset 8). */
async function groupSourceReq(text: string, option: string): Promise<Buffer> {
  const { group, ifText, source } = sourceGroupParts(text, option);
  const out = Buffer.alloc(264);
  out.writeUInt32LE(await interfaceIndexOf(ifText), 0);
  sockaddrBytes(group, 0).copy(out, 8);
  sockaddrBytes(source, 0).copy(out, 136);
  return out;
}

async function valueBytes(row: SockoptRow, options: ResolvedOptions): Promise<Buffer> {
  switch (row.layout) {
    case 'int': {
      const b = Buffer.alloc(4);
      b.writeInt32LE(options.number(row.option) ?? (options.bool(row.option) ? 1 : 0));
      return b;
    }
    case 'byte':
      return Buffer.from([(options.number(row.option) ?? (options.bool(row.option) ? 1 : 0)) & 0xff]);
    case 'in_addr':
      return in4(options.string(row.option) as string, row.option);
    case 'mreqn':
      return mreqn(options.string(row.option) as string, row.option);
    case 'mreq_source':
      return mreqSource(options.string(row.option) as string, row.option);
    case 'ipv6_mreq':
      return ipv6Mreq(options.string(row.option) as string, row.option);
    case 'group_source_req':
      return groupSourceReq(options.string(row.option) as string, row.option);
  }
}

/** Refuses a malformed value while the address is parsed (catalog `check`). */
export function checkIpOptionValue(option: string): (value: string, optionText: string) => void {
  return (value) => {
    if (option === 'ip-multicast-if' && !net().isIPv4(value)) throw new TsocatError(`option "${option}": "${value}" is not an IPv4 address`, 'EOPTVALUE');
    if (option === 'ip-add-source-membership') mreqSource(value, option);
    if (option === 'ipv6-join-group') ipv6GroupParts(value, option);
    if (option === 'ipv6-join-source-group') sourceGroupParts(value, option);
    if (option === 'ip-add-membership') {
      const parts = value.split(':');
      if (parts.length < 2 || parts.length > 3 || !net().isIPv4(parts[0] as string) || net().isIPv6(value)) {
        throw new TsocatError(`option "${option}": expected <multicast-address>:<interface>, got "${value}"`, 'EOPTVALUE');
      }
    }
  };
}

/**
 * The options that ask the kernel for control messages with each packet, and
 * the setsockopt(level, name, 1) of each (Linux's numbers). Only the datagram
 * receiving addresses read those messages (messages/ancillary.ts): elsewhere
 * the options are refused, since setting them alone would change nothing.
 */
export const ANCILLARY_SOCKOPTS = [
  { option: 'ip-pktinfo', level: SOL_IP, name: 8 },
  { option: 'ip-recvttl', level: SOL_IP, name: 12 },
  { option: 'ip-recvtos', level: SOL_IP, name: 13 },
  { option: 'ip-recvopts', level: SOL_IP, name: 6 },
  { option: 'ip-retopts', level: SOL_IP, name: 7 },
  { option: 'ip-recverr', level: SOL_IP, name: 11 },
  { option: 'so-timestamp', level: SOL_SOCKET, name: 29 },
  { option: 'ipv6-recvpktinfo', level: SOL_IPV6, name: 49 },
  { option: 'ipv6-recvhoplimit', level: SOL_IPV6, name: 51 },
  { option: 'ipv6-recvtclass', level: SOL_IPV6, name: 66 },
  { option: 'ipv6-recvhopopts', level: SOL_IPV6, name: 53 },
  { option: 'ipv6-recvdstopts', level: SOL_IPV6, name: 58 },
] as const;

export const ANCILLARY_OPTIONS: readonly string[] = ANCILLARY_SOCKOPTS.map((r) => r.option);

/** True when the address is asked for any control message (it then reads with recvmsg() and a control buffer). */
export const wantsAncillary = (o: ResolvedOptions): boolean => ANCILLARY_OPTIONS.some((name) => o.bool(name));

/** Sets the options of ANCILLARY_SOCKOPTS that are given, on a socket the address reads with recvmsg(). */
export async function enableAncillary(fd: number, options: ResolvedOptions): Promise<void> {
  const given = ANCILLARY_SOCKOPTS.filter((r) => options.has(r.option));
  if (given.length === 0) return;
  const sys = await import('../../sys/libc.js');
  for (const row of given) sys.setIntSockopt(fd, row.level, row.name, options.bool(row.option) ? 1 : 0);
}

/** Sets every option of the table that is given, in table order; a failure is socat's setsockopt() line. */
export async function applyIpSockopts(fd: number, options: ResolvedOptions): Promise<void> {
  const ancillary = ANCILLARY_OPTIONS.find((name) => options.has(name));
  if (ancillary) {
    // setting it alone would be accepting and ignoring it: only the receiving addresses read control messages (ancillary.ts)
    throw new TsocatError(`option "${ancillary}": only the datagram receiving addresses (UDP-RECV, UDP-RECVFROM, IP-RECV, IP-RECVFROM and their 4/6 forms) read the ancillary data it asks for`, 'EOPTAPPLY');
  }
  const given = ROWS.filter((r) => options.has(r.option));
  if (given.length === 0) return;
  const sys = await import('../../sys/libc.js');
  for (const row of given) {
    const value = await valueBytes(row, options);
    const shown = row.layout === 'int' ? String(value.readInt32LE()) : `0x${value.toString('hex')}`;
    sys.setBufferSockopt(fd, row.level, row.name, value, `setsockopt(${fd}, ${row.level}, ${row.name}, {${shown}}, ${value.length})`);
  }
}
