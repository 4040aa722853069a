/**
 * A listening TCP socket and its queue of accepted peers, as TCP-LISTEN uses
 * it and OPENSSL-LISTEN (each peer inside TLS): bind host and family,
 * options socat sets before bind() or listen(), range, backlog.
 */
import { isIP, isIPv6, type Socket } from 'node:net';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { TsocatError } from '../../errors.js';
import type { AddressRequest, OpenContext } from '../context.js';
import type { Logger } from '../../log/logger.js';
import type { Endpoint, Listener } from '../endpoint.js';
import { acceptQueue } from './accept-queue.js';
import { AF_INET, AF_INET6, chooseFamily, familyFromEnv, formatSockaddr, parseHostPort, parsePort, resolveHost, sockaddrBytes } from './inet.js';
import { parseRange } from './ip-range.js';
import { parseSockaddr } from './sockaddr.js';
import { applySockoptPhase, EARLY_OPTIONS } from './socket-phases.js';
import { refuseSocketChoice } from './sockopts.js';

/**
 * A listener's bind is a host only, as in socat: an unbracketed IPv6 literal is
 * an address, and "host:port" is looked up whole as a name (and so fails as in
 * socat) rather than having its port dropped.
 */
function bindHost(o: ResolvedOptions): string {
  const text = o.string('bind');
  if (text === undefined || isIP(text)) return text ?? '';
  const { host, port } = parseHostPort(text);
  return port !== undefined ? text : (host ?? '');
}

export function listenHost(family: 4 | 6, o: ResolvedOptions): string {
  return bindHost(o) || (family === 6 ? '::' : '0.0.0.0');
}

/**
 * ipv6-v6only exists only on IPv6 sockets. socat refuses it on TCP4-LISTEN
 * (not in that address's option groups) and fails setting it on a TCP-LISTEN
 * that turned out IPv4; tsocat says the same instead of ignoring it.
 */
function refuseV6onlyOnIPv4(ipv4Keyword: boolean, value: boolean): never {
  if (ipv4Keyword) throw new TsocatError('parseopts_table(): option "ipv6-v6only" not supported with this address type', 'EOPTGROUP');
  throw new TsocatError(`setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, {${value ? 1 : 0}}): Protocol not available`, 'ENOPROTOOPT');
}

/**
 * The listening socket, made, bound and listening through the descriptor
 * layer so that accepting can pause (max-children, the descriptor limit),
 * which Node's server cannot. Options socat sets before bind() (so-reuseport,
 * tcp-maxseg, rcvbuf, so-bindtodevice, setsockopt-listen, …) are set here;
 * SO_REUSEADDR is on unless reuseaddr says otherwise (socat 1.8's default for
 * a TCP listener, and what Node's listen() did).
 */
async function listeningSocket(address: string, port: number, o: ResolvedOptions, log: Logger): Promise<number> {
  const { preparedTcpSocket, setIntSockopt, SOL_SOCKET, SO_REUSEADDR } = await import('../../sys/libc.js');
  const { closeDescriptor, listenSocket } = await import('../../sys/sockets.js');
  const setup = (fd: number) => {
    applySockoptPhase(fd, o, 'pastsocket');
    if (!o.has('so-reuseaddr')) setIntSockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    applySockoptPhase(fd, o, 'prebind');
  };
  const make = () => preparedTcpSocket(isIPv6(address) ? AF_INET6 : AF_INET, setup, { sockaddr: sockaddrBytes(address, port), described: formatSockaddr(address, port) });
  // netns: the socket is made (and bound) in that namespace and stays there; tsocat comes back at once
  const fd = o.has('netns') ? (await import('../../sys/netns.js')).inNetworkNamespace(o.string('netns') as string, log, make) : make();
  try {
    listenSocket(fd, o.number('backlog') ?? 511);
  } catch (err) {
    closeDescriptor(fd);
    throw err;
  }
  return fd;
}

/** How an accepted, paused TCP socket becomes the peer's endpoint inside TLS for OPENSSL-LISTEN. */
export type PeerEndpoint = (socket: Socket, req: AddressRequest, ctx: OpenContext) => Endpoint;

/**
 * TCP-LISTEN's open; `peerEndpoint` turns each accepted socket into an endpoint inside TLS for
 * OPENSSL-LISTEN (or after its PROXY protocol header); without it a peer is a plain `TCP <peer>` socket endpoint (accept-queue.ts).
 */
export async function openTcpListener(req: AddressRequest, ctx: OpenContext, peerEndpoint?: PeerEndpoint, checkRange = true): Promise<Listener> {
  const o = req.options;
  refuseSocketChoice(o, req.keyword);
  const port = parsePort(req.params[0] as string, '');
  const keywordFamily = /^(TCP|INET)4/.test(req.keyword) ? 4 : /^(TCP|INET)6/.test(req.keyword) ? 6 : 0;
  const bindText = bindHost(o);
  // -0 with nothing else deciding: [::], which takes IPv4 peers too on Linux
  const eitherFamily = ctx.settings.anyFamily && !keywordFamily && !bindText && !o.has('pf') ? 6 : 0;
  const family = chooseFamily(keywordFamily, bindText, eitherFamily || ctx.settings.preferredFamily || familyFromEnv('SOCAT_DEFAULT_LISTEN_IP'), o.string('pf'));
  if (o.has('ipv6-v6only') && family === 4) refuseV6onlyOnIPv4(keywordFamily === 4, o.bool('ipv6-v6only'));
  // connecting is not what a listener does; socat 1.7 says so, rather than ignore the option
  if (o.has('connect-timeout')) throw new TsocatError('applyopts(): option "connect-timeout" does not apply', 'EOPTAPPLY');
  // resolved here so a name that does not resolve is reported as socat does, before anything is bound
  const host = await resolveHost(listenHost(family, o), 'NULL', family, o);
  // checkRange false: the peer endpoint checks range itself (the client a PROXY protocol header names)
  const range = checkRange && o.has('range') ? await parseRange(o.string('range') as string) : undefined;

  // a --workers worker takes the socket its parent bound, options and all (src/engine/workers/)
  const fd = ctx.inheritedListener ?? (await listeningSocket(host, port, o, ctx.log));
  const { localAddressOf } = await import('../../sys/sockets.js');
  const own = parseSockaddr(localAddressOf(fd));
  const bound = own.family === 'inet4' || own.family === 'inet6' ? formatSockaddr(own.address, own.port) : formatSockaddr(host, port);
  // the listening socket took the early options; accepted sockets inherit them, as socat leaves it
  const accepted = acceptQueue(fd, o.without(...EARLY_OPTIONS), range, req.mode, ctx, false, true);
  ctx.log.startRunning('starting accept loop');
  if (ctx.inheritedListener === undefined) ctx.log.log('N', `listening on ${bound}`);

  return accepted.listener(`TCP-LISTEN ${bound}`, 'TCP', peerEndpoint && ((socket) => peerEndpoint(socket, req, ctx)));
}
