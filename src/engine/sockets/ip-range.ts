/**
 * socat's range option: which peers a listener or receiver lets in.
 * IPv4 as `addr/bits` or `addr:mask` (a dotted mask, which need not be
 * contiguous), IPv6 as `[addr]/bits`; addr may be a host name. Several
 * ranges may be given comma-separated in braces; a peer in any is let in.
 * Malformed ranges are refused in socat's words.
 */
import { BlockList, isIP, isIPv4, isIPv6, type SocketAddress } from 'node:net';
import { TsocatError } from '../../errors.js';
import { dnsPromises } from '../../sys/builtins.js';

interface Network {
  family: 4 | 6;
  address: Buffer;
  mask: Buffer;
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

function ipv6Bytes(address: string): Buffer {
  const hexOnly = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a, b, c, d) => `${((+a << 8) + +b).toString(16)}:${((+c << 8) + +d).toString(16)}`);
  const [head = '', tail] = hexOnly.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), 2 * i);
  return out;
}

function maskOfBits(bits: number, bytes: number): Buffer {
  const mask = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) mask[i] = bits >= 8 * (i + 1) ? 0xff : bits <= 8 * i ? 0 : (0xff << (8 - (bits - 8 * i))) & 0xff;
  return mask;
}

/** A host name or literal as an address of the family, failing as socat's getaddrinfo() does. */
async function resolveIn(host: string, family: 4 | 6): Promise<string> {
  if (isIP(host) === family) return host;
  try {
    return (await dnsPromises().lookup(host, { family })).address;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOTFOUND' ? 'Name or service not known' : code === 'EAI_AGAIN' ? 'Temporary failure in name resolution' : 'Address family for hostname not supported';
    throw new TsocatError(`getaddrinfo("${host}", "NULL", {}): ${reason}`, 'EOPTVALUE');
  }
}

/** strtoul over the whole text, as socat reads mask bits: a number and nothing else. */
function maskBits(text: string, whole: string, max: number): number {
  if (!/^\d+$/.test(text)) throw new TsocatError(`not a valid netmask in "${whole}"`, 'EOPTVALUE');
  const bits = Number(text);
  if (bits > max) throw new TsocatError(`netmask "${whole}" is too large`, 'EOPTVALUE');
  return bits;
}

async function parseNetwork(text: string): Promise<Network> {
  if (text.startsWith('[')) {
    const slash = text.indexOf('/');
    if (slash < 0) throw new TsocatError(`xioparsenetwork_ip6("${text}",,): missing mask bits delimiter '/'`, 'EOPTVALUE');
    if (text[slash - 1] !== ']') throw new TsocatError(`missing brackets for IPv6 range definition "${text}"`, 'EOPTVALUE');
    const address = await resolveIn(text.slice(1, slash - 1), 6);
    return { family: 6, address: ipv6Bytes(address), mask: maskOfBits(maskBits(text.slice(slash + 1), text, 128), 16) };
  }
  const slash = text.indexOf('/');
  const colon = text.indexOf(':');
  if (slash >= 0) {
    const host = text.slice(0, slash);
    // an unbracketed IPv6 literal: socat wants brackets around it
    if (host.includes(':')) throw new TsocatError(`missing brackets for IPv6 range definition "${text}"`, 'EOPTVALUE');
    const bits = maskBits(text.slice(slash + 1), text, 32);
    return { family: 4, address: ipv4Bytes(await resolveIn(host, 4)), mask: maskOfBits(bits, 4) };
  }
  if (colon >= 0) {
    const mask = text.slice(colon + 1);
    if (!isIPv4(mask)) throw new TsocatError(`not a valid netmask in "${text}"`, 'EOPTVALUE');
    return { family: 4, address: ipv4Bytes(await resolveIn(text.slice(0, colon), 4)), mask: ipv4Bytes(mask) };
  }
  throw new TsocatError(`xioparsenetwork_ip4("${text}",,): missing netmask delimiter`, 'EOPTVALUE');
}

function contains(net: Network, peer: Buffer): boolean {
  if (peer.length !== net.address.length) return false;
  for (let i = 0; i < peer.length; i++) if (((peer[i] as number) & (net.mask[i] as number)) !== ((net.address[i] as number) & (net.mask[i] as number))) return false;
  return true;
}

/**
 * The ranges as a BlockList (what the listeners take), whose check() is a
 * plain mask comparison, so a dotted mask with holes works as in socat. An
 * IPv4 peer on an IPv6 socket (::ffff:a.b.c.d) is checked as the IPv4 address.
 */
export class IpRanges extends BlockList {
  constructor(private readonly networks: readonly Network[]) {
    super();
  }

  override check(socketAddress: string | SocketAddress): boolean {
    const address = typeof socketAddress === 'string' ? socketAddress : socketAddress.address;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const peer = mapped ? ipv4Bytes(mapped[1] as string) : isIPv4(address) ? ipv4Bytes(address) : isIPv6(address) ? ipv6Bytes(address) : undefined;
    return peer !== undefined && this.networks.some((net) => contains(net, peer));
  }
}

/** Parses the range option's value; throws socat's error for the first malformed range. */
export async function parseRange(text: string): Promise<IpRanges> {
  const parts = text.replace(/^\{|\}$/g, '').split(/\s*[, ]\s*/).filter(Boolean);
  if (parts.length === 0) throw new TsocatError(`xioparsenetwork_ip4("${text}",,): missing netmask delimiter`, 'EOPTVALUE');
  const networks: Network[] = [];
  for (const part of parts) networks.push(await parseNetwork(part));
  return new IpRanges(networks);
}
