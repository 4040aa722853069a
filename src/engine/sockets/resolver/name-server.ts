/**
 * socat's res-nsaddr (with res-retry, res-retrans and res-recurse): an
 * address's names are asked of this DNS server instead of those
 * /etc/resolv.conf names. socat writes the server into the C resolver's
 * state, so /etc/hosts still answers first; here the hosts file is read the
 * same way, then the server is asked by dns-query.ts, one question at a time
 * as the C resolver asks, never through the process-wide resolver that other
 * sessions use. (Node's c-ares client lowercases the name and adds a second
 * of its own after the last try, so it is not used.)
 */
import { isIP } from 'node:net';
import type { ResolvedOptions } from '../../../../options/catalog.js';
import { TsocatError } from '../../../errors.js';
import { dnsPromises, fsPromises } from '../../../sys/builtins.js';
import { ask } from './dns-query.js';

/** Looks a name up as the address's options say: an IP literal of the family, or a failure in getaddrinfo's words. */
export type NameLookup = (host: string, family: 4 | 6) => Promise<string>;

const DNS_PORT = 53;

/** The options of an address's own name lookup: with any of them the address looks its names up here. */
export const RESOLVER_OPTIONS: readonly string[] = ['res-nsaddr', 'res-retry', 'res-retrans', 'res-recurse'];

/** The server of res-nsaddr=<host>[:<port>] (an IPv4 address or a name of one; port 53 when not given). */
export function nameServerOf(text: string): { host: string; port: number } {
  const m = text.match(/^([^:]+)(?::(\d+))?$/);
  if (!m) throw new TsocatError(`res-nsaddr: "${text}" is not <ipv4-address>[:<port>]`, 'EOPTVALUE');
  const port = m[2] === undefined ? DNS_PORT : Number(m[2]);
  if (port > 65535) throw new TsocatError(`port ${m[2]} is out of range: a port is a number from 0 to 65535`, 'EBADPORT');
  return { host: m[1] as string, port };
}

/** The server's IPv4 address and port; a name is looked up first, as socat's xioresolve() does. */
async function serverAddress(text: string): Promise<{ host: string; port: number }> {
  const { host, port } = nameServerOf(text);
  if (isIP(host) === 4) return { host, port };
  try {
    return { host: (await dnsPromises().lookup(host, { family: 4 })).address, port };
  } catch {
    throw new TsocatError(`xioresolve(node="${host}", pf=2, ...): Name or service not known`, 'ENOTFOUND');
  }
}

/** The first address of the family that /etc/hosts gives the name, if any. */
async function fromHostsFile(host: string, family: 4 | 6): Promise<string | undefined> {
  let text: string;
  try {
    text = await fsPromises().readFile('/etc/hosts', 'latin1');
  } catch {
    return undefined;
  }
  const wanted = host.toLowerCase();
  for (const line of text.split('\n')) {
    const [address, ...names] = (line.split('#')[0] ?? '').trim().split(/\s+/);
    if (address && isIP(address) === family && names.some((n) => n.toLowerCase() === wanted)) return address;
  }
  return undefined;
}

/** getaddrinfo's words for what the DNS client reports. */
function lookupFailure(host: string, service: string, code: string | undefined): TsocatError {
  const reason = code === 'ENOTFOUND' ? 'Name or service not known' : code === 'ENODATA' ? 'No address associated with hostname' : 'Temporary failure in name resolution';
  return new TsocatError(`getaddrinfo("${host}", "${service}", {}): ${reason}`, code === 'ENOTFOUND' || code === 'ENODATA' ? 'ENOTFOUND' : 'EAI_AGAIN');
}

/**
 * The lookup res-nsaddr asks for, or undefined when the options name no
 * server (the system resolver is used then). A bad server is refused at once.
 */
export function nameLookupFor(options: ResolvedOptions, service: string): NameLookup | undefined {
  const text = options.string('res-nsaddr');
  if (text === undefined) {
    // the system resolver's tries and timeout are /etc/resolv.conf's; tsocat cannot change them for one address
    const alone = RESOLVER_OPTIONS.find((name) => options.has(name));
    if (alone) throw new TsocatError(`option "${alone}" works only with res-nsaddr (the system resolver's own setting is in /etc/resolv.conf)`, 'EOPTVALUE');
    return undefined;
  }
  // libresolv's retrans is the seconds each question waits for its answer, retry the number of questions
  const timeoutMs = (options.number('res-retrans') ?? 5) * 1000;
  const tries = options.number('res-retry') ?? 2;
  const recurse = !options.has('res-recurse') || options.bool('res-recurse');
  return async (host, family) => {
    if (isIP(host)) return host;
    const listed = await fromHostsFile(host, family);
    if (listed) return listed;
    const answer = await ask({ name: host, family, server: await serverAddress(text), tries, timeoutMs, recurse });
    if ('failure' in answer) throw lookupFailure(host, service, answer.failure);
    return answer.addresses[0] as string;
  };
}
