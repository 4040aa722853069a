/**
 * Stream protocols over IP that Node has no sockets for, SCTP and DCCP: their
 * CONNECT and LISTEN addresses with the IPv4/IPv6 forms and socat's aliases,
 * made through kernel-stream.ts. The host is resolved and the family chosen as
 * TCP does (pf=, -4/-6, the keyword's 4 or 6). Where the kernel lacks the
 * protocol, socket() fails at run time and socat's lines are printed: for a
 * connect the failed call as a warning, then the address as written with the
 * reason; for a listener the failed call.
 */
import { isIP } from 'node:net';
import { TsocatError } from '../../../errors.js';
import { SocketCallError } from '../../../sys/sockets.js';
import type { AddressPlugin, AddressRequest, OpenContext } from '../../context.js';
import type { Endpoint } from '../../endpoint.js';
import { refuseOptions } from '../generic-socket.js';
import { chooseFamily, familyFromEnv, parseHostPort, parsePort, protocolFamily, resolveHost, unbracket } from '../inet.js';
import { parseRange } from '../ip-range.js';
import { connectStream, ipDomain, listenStream, type SocketKind } from './kernel-stream.js';
import { inetSockaddr, parseSockaddr } from '../sockaddr.js';
import { listenHost } from '../tcp-listener.js';

export interface IpStreamProtocol {
  /** SCTP, DCCP: the keywords' stem and socat's -V feature. */
  name: string;
  /** socket()'s type and protocol. */
  type: number;
  protocol: number;
  /** What the protocol is, for help: "an SCTP association". */
  what: string;
}

/** The version a keyword fixes (SCTP4-…, DCCP6-…), or 0. */
const keywordVersion = (keyword: string): 4 | 6 | 0 => (/^[A-Z]+4/.test(keyword) ? 4 : /^[A-Z]+6/.test(keyword) ? 6 : 0);

/** socat takes an empty port for a missing one and says so. */
function portOf(text: string, host: string): number {
  if (text === '') throw new TsocatError('_xiogetaddrinfo(): empty port and service', 'EBADPORT');
  return parsePort(text, host);
}

/**
 * The IP version, as TCP chooses it; but where the keyword or pf= fixes one
 * and the host is an address literal of the other, socat's lookup fails
 * before any socket is made, and so does this, in its words.
 */
function ipVersion(p: IpStreamProtocol, req: AddressRequest, ctx: OpenContext, written: string, service: string, listening: boolean): 4 | 6 {
  const o = req.options;
  const fixed = keywordVersion(req.keyword) || (o.has('pf') ? protocolFamily(o.string('pf') as string) : 0);
  const host = unbracket(written);
  const literal = isIP(host);
  if (fixed && literal && literal !== fixed) {
    const pf = ipDomain(fixed);
    // AI_PASSIVE for a listener, AI_NUMERICHOST for a bracketed literal
    const flags = (listening ? 1 : 0) | (written.startsWith('[') ? 4 : 0);
    const reason = 'Address family for hostname not supported';
    ctx.log.log('W', `getaddrinfo("${host}", "${service}", {0x0${flags},${pf},${p.type},${p.protocol}}, {}): ${reason}`);
    const call = listening ? `xioresolve(node="${written}", pf=${pf}, ...)` : `_xioopen_ipapp_prepare(node="${written}", service="${service}", pf=${pf}, ...)`;
    throw new TsocatError(`${call}: ${reason}`, 'EAI_ADDRFAMILY');
  }
  const preferred = ctx.settings.preferredFamily || familyFromEnv(listening ? 'SOCAT_DEFAULT_LISTEN_IP' : 'SOCAT_PREFERRED_RESOLVE_IP');
  return chooseFamily(keywordVersion(req.keyword), written, preferred, o.string('pf'));
}

function socketKind(p: IpStreamProtocol, version: 4 | 6): SocketKind {
  return { domain: ipDomain(version), type: p.type, protocol: p.protocol };
}

/** bind= on a client: host, and a port when given. */
async function localAddress(req: AddressRequest, version: 4 | 6): Promise<Buffer | undefined> {
  const text = req.options.string('bind');
  if (text === undefined) return undefined;
  const { host, port } = parseHostPort(text);
  const ip = await resolveHost(host ?? (version === 6 ? '::' : '0.0.0.0'), port ?? 'NULL', version, req.options);
  return inetSockaddr(ip, port === undefined ? 0 : portOf(port, host ?? ''));
}

async function openConnect(p: IpStreamProtocol, req: AddressRequest, ctx: OpenContext): Promise<Endpoint> {
  const [hostText, portText] = req.params as [string, string];
  const o = req.options;
  refuseOptions(o, ['so-type', 'so-protocol'], req.keyword);
  const host = unbracket(hostText);
  const port = portOf(portText, host);
  const version = ipVersion(p, req, ctx, hostText, portText, false);
  const address = inetSockaddr(await resolveHost(host, portText, version, o), port);
  try {
    return await connectStream(req, ctx, socketKind(p, version), address, p.name, await localAddress(req, version));
  } catch (err) {
    if (!(err instanceof SocketCallError)) throw err;
    // socat's client tries each address it resolved: the failed call is a warning, the address's failure the error
    ctx.log.log('W', err.message);
    throw new TsocatError(`${req.spec.type}:${req.spec.params.join(':')}: ${err.reason}`, err.code);
  }
}

async function openListen(p: IpStreamProtocol, req: AddressRequest, ctx: OpenContext) {
  const o = req.options;
  refuseOptions(o, ['so-type', 'so-protocol', 'connect-timeout'], req.keyword);
  const port = portOf(req.params[0] as string, '');
  const version = ipVersion(p, req, ctx, o.string('bind') ?? '', req.params[0] as string, true);
  const host = await resolveHost(listenHost(version, o), 'NULL', version, o);
  const range = o.has('range') ? await parseRange(o.string('range') as string) : undefined;
  const inRange =
    range &&
    ((peer: Buffer) => {
      const from = parseSockaddr(peer);
      return (from.family === 'inet4' || from.family === 'inet6') && range.check(from.address);
    });
  return listenStream(req, ctx, socketKind(p, version), inetSockaddr(host, port), { label: p.name, inRange });
}

/** The IP groups of a keyword: socat's SCTP4-… take IPv4 options only, SCTP6-… IPv6 ones. */
const IP_GROUPS = { '': ['IP4', 'IP6'], '4': ['IP4'], '6': ['IP6'] } as const;

/** The CONNECT and LISTEN addresses of one protocol, plain, 4 and 6, with socat's groups and aliases. */
export function ipStreamAddresses(p: IpStreamProtocol): AddressPlugin[] {
  return (['', '4', '6'] as const).flatMap((v): AddressPlugin[] => {
    const n = `${p.name}${v}`;
    const version = v === '' ? '' : ` over IPv${v}`;
    return [
      {
        listed: [`${n}-CONNECT`],
        names: [`${n}-CONNECT`, n],
        params: ['host', 'port'],
        groups: ['FD', 'SOCKET', 'CHILD', 'RETRY', ...IP_GROUPS[v]],
        features: [p.name, 'IP4', 'IP6'],
        summary: `connect ${p.what} to <host>:<port>${version}`,
        open: (req, ctx) => openConnect(p, req, ctx),
      },
      {
        listed: [`${n}-LISTEN`],
        names: [`${n}-LISTEN`, `${n}-L`],
        params: ['port'],
        groups: ['FD', 'SOCKET', 'LISTEN', 'CHILD', 'RETRY', 'RANGE', ...IP_GROUPS[v]],
        features: [p.name, 'LISTEN', 'IP4', 'IP6'],
        summary: `listen for ${p.what} on <port>${version}; fork for one session per peer`,
        open: (req, ctx) => openListen(p, req, ctx),
      },
    ];
  });
}
