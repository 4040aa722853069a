/** TCP-LISTEN, TCP4-LISTEN, TCP6-LISTEN: accept peers on <port>; with fork, any number of them. */
import { createServer, isIP, isIPv6, type Server, type Socket } from 'node:net';
import type { ResolvedOptions } from '../options/catalog.js';
import { type AddressRequest, defineAddress } from '../src/define.js';
import type { OpenContext } from '../src/engine/context.js';
import type { Endpoint, Listener } from '../src/engine/endpoint.js';
import { socketEndpoint } from '../src/engine/sockets/socket-endpoint.js';
import { acceptQueue } from '../src/engine/sockets/accept-queue.js';
import { AF_INET, AF_INET6, chooseFamily, familyFromEnv, formatSockaddr, parseHostPort, parsePort, resolveHost, sockaddrBytes } from '../src/engine/sockets/inet.js';
import { parseRange } from '../src/engine/sockets/ip-range.js';
import { applySockoptPhase, EARLY_OPTIONS, needsEarlyOptions } from '../src/engine/sockets/socket-phases.js';
import { refuseSocketChoice } from '../src/engine/sockets/sockopts.js';
import { type SystemError, strerror, TsocatError } from '../src/errors.js';

const GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'LISTEN', 'CHILD', 'RANGE', 'RETRY', 'APPL'] as const;

/** socat's range option (src/engine/sockets/ip-range.ts), exported here too for the addresses that took it from here. */
export { parseRange };

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

function listenHost(family: 4 | 6, o: ResolvedOptions): string {
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
 * A listening socket made and bound by tsocat itself, when Node's own would
 * be wrong: options socat sets before bind() or listen() (so-reuseport,
 * tcp-maxseg, rcvbuf, so-bindtodevice, setsockopt-listen, …) need the socket
 * before Node has one, and libuv always sets SO_REUSEADDR, which reuseaddr=0
 * turns off. Undefined when Node's listen() does what is asked (socat 1.8 sets
 * SO_REUSEADDR on TCP listeners unless told otherwise, as libuv does).
 */
async function selfBoundSocket(address: string, port: number, o: ResolvedOptions): Promise<number | undefined> {
  const reuseAddrOff = o.has('so-reuseaddr') && !o.bool('so-reuseaddr');
  if (!reuseAddrOff && !needsEarlyOptions(o)) return undefined;
  const { preparedTcpSocket, setIntSockopt, SOL_SOCKET, SO_REUSEADDR } = await import('../src/sys/libc.js');
  const setup = (fd: number) => {
    applySockoptPhase(fd, o, 'pastsocket');
    // socat 1.8's default for a TCP listener, unless reuseaddr says otherwise
    if (!o.has('so-reuseaddr')) setIntSockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    applySockoptPhase(fd, o, 'prebind');
  };
  return preparedTcpSocket(isIPv6(address) ? AF_INET6 : AF_INET, setup, { sockaddr: sockaddrBytes(address, port), described: formatSockaddr(address, port) });
}

/** How an accepted, paused TCP socket becomes the peer's endpoint: plainly here, inside TLS for OPENSSL-LISTEN. */
export type PeerEndpoint = (socket: Socket, req: AddressRequest, ctx: OpenContext) => Endpoint;

const plainPeer: PeerEndpoint = (socket, req) => socketEndpoint(socket, `TCP ${formatSockaddr(socket.remoteAddress, socket.remotePort)}`, req.mode);

const tcpListen = defineAddress({
  listed: ['TCP-LISTEN', 'TCP4-LISTEN', 'TCP6-LISTEN'],
  names: ['TCP-LISTEN', 'TCP-L', 'TCP4-LISTEN', 'TCP4-L', 'TCP6-LISTEN', 'TCP6-L', 'INET-LISTEN', 'INET-L', 'INET4-LISTEN', 'INET4-L', 'INET6-LISTEN', 'INET6-L'],
  params: ['port'],
  groups: GROUPS,
  features: ['TCP', 'LISTEN', 'IP4', 'IP6'],
  summary: 'TCP server: listen on <port>, accept one peer (or one session per peer with fork)',
  async open(req, ctx, peerEndpoint: PeerEndpoint = plainPeer) {
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
    const host = await resolveHost(listenHost(family, o), 'NULL', family);
    const range = o.has('range') ? await parseRange(o.string('range') as string) : undefined;

    const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    // the listening socket took the early options; accepted sockets inherit them, as socat leaves it
    const accepted = acceptQueue(server, o.without(...EARLY_OPTIONS), range, req.mode, ctx);

    const selfBound = await selfBoundSocket(host, port, o);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: SystemError) => {
        reject(new TsocatError(`bind(${formatSockaddr(host, port)}): ${strerror(err)}`, err.code ?? 'EBIND'));
      });
      const backlog = o.number('backlog') ?? 511;
      if (selfBound === undefined) server.listen({ port, host, backlog, ipv6Only: o.bool('ipv6-v6only') }, () => resolve());
      else server.listen({ fd: selfBound, backlog }, () => resolve());
    });
    const addr = server.address();
    const bound = typeof addr === 'object' && addr ? formatSockaddr(addr.address, addr.port) : String(addr);
    ctx.log.startRunning('starting accept loop');
    ctx.log.log('N', `listening on ${bound}`);

    return accepted.listener(`TCP-LISTEN ${bound}`, 'TCP', (socket) => peerEndpoint(socket, req, ctx));
  },
});
export default tcpListen;

/** TCP-LISTEN's open with another way of turning each accepted socket into an endpoint (OPENSSL-LISTEN). */
export const openTcpListener = tcpListen.open as (req: AddressRequest, ctx: OpenContext, peerEndpoint: PeerEndpoint) => Promise<Listener>;
