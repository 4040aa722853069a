/** Ports, service names, host literals and socat's `AF=2 1.2.3.4:80` notation. */
import { readFileSync } from 'node:fs';
import { isIP, isIPv6 } from 'node:net';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { systemError, TsocatError } from '../../errors.js';
import { dns, dnsPromises } from '../../sys/builtins.js';
import { nameLookupFor } from './resolver/name-server.js';

let services: Map<string, number> | undefined;

function serviceTable(): Map<string, number> {
  if (services) return services;
  services = new Map();
  try {
    for (const line of readFileSync('/etc/services', 'utf8').split('\n')) {
      const m = line.replace(/#.*/, '').trim().split(/\s+/);
      const [name, portProto, ...aliases] = m;
      const pm = portProto?.match(/^(\d+)\/(tcp|udp)$/);
      if (!name || !pm) continue;
      for (const n of [name, ...aliases]) {
        const key = `${n}/${pm[2]}`;
        if (!services.has(key)) services.set(key, Number(pm[1]));
      }
    }
  } catch {
    // no services database: only numeric ports work
  }
  return services;
}

/** A port number or service name, as getaddrinfo would take it. */
export function parsePort(text: string, host: string, proto: 'tcp' | 'udp' = 'tcp'): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n <= 65535) return n;
    // socat 1.8 cuts such a port to 16 bits and connects elsewhere (99999 is 34463); getaddrinfo's "Servname not supported" would not say what is wrong
    throw new TsocatError(`port ${text} is out of range: a port is a number from 0 to 65535`, 'EBADPORT');
  } else {
    const p = serviceTable().get(`${text}/${proto}`);
    if (p !== undefined) return p;
  }
  throw new TsocatError(`getaddrinfo("${host}", "${text}", {}): Servname not supported for ai_socktype`, 'EBADPORT');
}

/** Strips the brackets of `[::1]`. */
export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The eight 16-bit groups of an IPv6 literal, '::' expanded and an embedded IPv4 tail (::ffff:1.2.3.4) as two groups. */
function ipv6Groups(address: string): number[] {
  const hexOnly = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, b1, b2, b3, b4) =>
    `${((Number(b1) << 8) + Number(b2)).toString(16)}:${((Number(b3) << 8) + Number(b4)).toString(16)}`,
  );
  const [head = '', tail] = hexOnly.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = tail === undefined ? headGroups : [...headGroups, ...zeros, ...tailGroups];
  return groups.map((g) => Number.parseInt(g, 16));
}

/**
 * An address as socat exports it in SOCAT_SOCKADDR/PEERADDR: IPv4 dotted,
 * IPv6 (also an IPv4 peer on an IPv6 socket) as eight 4-digit groups in brackets.
 */
export function environmentAddress(address: string | undefined): string {
  const a = address ?? '';
  if (!isIPv6(a)) return a;
  return `[${ipv6Groups(a).map((g) => g.toString(16).padStart(4, '0')).join(':')}]`;
}

export const AF_INET = 2;
export const AF_INET6 = 10;

/** struct sockaddr_in / sockaddr_in6 for an IP literal and port, laid out as Linux expects. */
export function sockaddrBytes(address: string, port: number): Buffer {
  if (isIPv6(address)) {
    const sa = Buffer.alloc(28); // family, port, flowinfo, 16 address bytes, scope id
    sa.writeUInt16LE(AF_INET6, 0);
    sa.writeUInt16BE(port, 2);
    for (const [i, g] of ipv6Groups(address).entries()) sa.writeUInt16BE(g, 8 + 2 * i);
    return sa;
  }
  const sa = Buffer.alloc(16); // family, port, 4 address bytes, padding
  sa.writeUInt16LE(AF_INET, 0);
  sa.writeUInt16BE(port, 2);
  for (const [i, octet] of address.split('.').entries()) sa.writeUInt8(Number(octet), 4 + i);
  return sa;
}

/** socat's sockaddr_info text for an IP socket address. */
export function formatSockaddr(address: string | undefined, port: number | undefined): string {
  const a = address ?? '?';
  return isIPv6(a) ? `AF=10 [${a}]:${port}` : `AF=2 ${a}:${port}`;
}

/** Picks 4 or 6: an explicit family from the keyword, then an IPv6 literal, then -4/-6/pf, then IPv4 as socat 1.8 does. */
/** socat's environment defaults, SOCAT_DEFAULT_LISTEN_IP and SOCAT_PREFERRED_RESOLVE_IP: '4' or '6'. */
export function familyFromEnv(name: 'SOCAT_DEFAULT_LISTEN_IP' | 'SOCAT_PREFERRED_RESOLVE_IP'): 4 | 6 | 0 {
  // read once: a lookup in process.env is a call into C++, and a forking relay would pay it per connection
  let family = envFamilies.get(name);
  if (family === undefined) {
    const v = process.env[name];
    family = v === '6' ? 6 : v === '4' ? 4 : 0;
    envFamilies.set(name, family);
  }
  return family;
}

const envFamilies = new Map<string, 4 | 6 | 0>();

/** socat's pf= values: a name (inet, inet4, ip4, ipv4, inet6, ip6, ipv6, any case) or the number (2, 10). */
export function protocolFamily(pf: string): 4 | 6 {
  if (/^(inet4?|ipv?4|0*2|0x0*2)$/i.test(pf)) return 4;
  if (/^(inet6|ipv?6|0*10|0x0*a)$/i.test(pf)) return 6;
  throw new TsocatError(`unknown protocol family "${pf}"`, 'EOPTVALUE');
}

export function chooseFamily(keywordFamily: 4 | 6 | 0, host: string, preferred: 4 | 6 | 0, pf?: string): 4 | 6 {
  // a bad pf is refused whatever else decides
  const asked = pf !== undefined ? protocolFamily(pf) : undefined;
  if (keywordFamily) return keywordFamily;
  if (isIPv6(unbracket(host))) return 6;
  return asked ?? (preferred || 4);
}

/** `host[:port]` of the bind option; brackets protect IPv6 colons. */
export function parseHostPort(text: string): { host?: string; port?: string } {
  const m = text.match(/^(\[[^\]]*\]|[^:]*)(?::(.*))?$/);
  if (!m) return { host: text };
  return { host: m[1] ? unbracket(m[1]) : undefined, port: m[2] };
}

/** getaddrinfo's hints for ai-addrconfig: given, it decides (AI_ADDRCONFIG or none); not given, the system's default. */
export function addrconfigHints(options: ResolvedOptions | undefined): number | undefined {
  return options?.has('ai-addrconfig') ? (options.bool('ai-addrconfig') ? dns().ADDRCONFIG : 0) : undefined;
}

/** A host name or IP literal as an IP literal of the family, for addresses Node will not resolve itself (bind). */
export async function resolveHost(host: string, service: string, family: 4 | 6, options?: ResolvedOptions): Promise<string> {
  // res-nsaddr: the address's own name server (res-retry or res-retrans without it are refused even for a literal)
  const own = options && nameLookupFor(options, service);
  if (isIP(host)) return host;
  if (own) return own(host, family);
  try {
    return (await dnsPromises().lookup(host, { family, hints: addrconfigHints(options) })).address;
  } catch (err) {
    throw systemError(`getaddrinfo("${host}", "${service}", {})`, err);
  }
}
