/**
 * Stream sockets tsocat makes itself through the descriptor layer, for what
 * Node has no sockets for: SOCKET-CONNECT/-LISTEN with any domain and
 * protocol, SCTP and DCCP over IP, VSOCK. Connecting, or listening and
 * accepting (fork: one session per peer); each connection relayed as a
 * descriptor. The kernel's own refusal (no SCTP module, no DCCP) comes back
 * at run time in socat's words, as socat's does.
 */
import type { ResolvedOptions } from '../../../../options/catalog.js';
import { AF_INET, AF_INET6, closeDescriptor, listenSocket, localAddressOf, SOCK_DGRAM, SOCK_STREAM, bindSocket } from '../../../sys/sockets.js';
import type { AddressRequest, OpenContext } from '../../context.js';
import type { Endpoint } from '../../endpoint.js';
import { connectDescriptor, preparedSocket } from '../generic-socket.js';
import { environmentAddress } from '../inet.js';
import { rawSocketEndpoint } from '../messages/raw-socket.js';
import { type RawListener, rawListener } from '../raw-listener.js';
import { describeSockaddr, parseSockaddr } from '../sockaddr.js';
import { setRawSockopt } from '../sockopts.js';

/** socket()'s three numbers. */
export interface SocketKind {
  domain: number;
  type: number;
  protocol: number;
}

/** The kind of socket decides how its data moves: messages for datagram and seqpacket, half-close for stream and seqpacket. */
export function transfer(type: number): { message: boolean; halfClose: boolean } {
  return { message: type !== SOCK_STREAM, halfClose: type !== SOCK_DGRAM };
}

/** SOCAT_SOCKADDR/PEERADDR…, for IP peers as socat sets them. */
export function connectionInfo(local: Buffer, peer: Buffer): Record<string, string> | undefined {
  const l = parseSockaddr(local);
  const p = parseSockaddr(peer);
  if ((l.family !== 'inet4' && l.family !== 'inet6') || (p.family !== 'inet4' && p.family !== 'inet6')) return undefined;
  return { SOCKADDR: environmentAddress(l.address), SOCKPORT: String(l.port), PEERADDR: environmentAddress(p.address), PEERPORT: String(p.port) };
}

/** A connected socket of `kind` as an endpoint, described as `<label> <peer>`. */
function streamEndpoint(fd: number, req: AddressRequest, type: number, label: string, peer: Buffer): Endpoint {
  return rawSocketEndpoint(fd, { nullEof: req.options.bool('null-eof'), ...transfer(type), mode: req.mode, description: `${label} ${describeSockaddr(peer)}` });
}

/** socket(), bind= when given, connect() (connect-timeout), logged as socat logs it. */
export async function connectStream(req: AddressRequest, ctx: OpenContext, kind: SocketKind, address: Buffer, label: string, local?: Buffer): Promise<Endpoint> {
  const fd = await preparedSocket(kind.domain, kind.type, kind.protocol, req.options, local);
  try {
    ctx.log.log('N', `opening connection to ${describeSockaddr(address)}`);
    await connectDescriptor(fd, address, ctx.signal, req.options.number('connect-timeout'));
  } catch (err) {
    closeDescriptor(fd);
    throw err;
  }
  ctx.log.log('N', `successfully connected from local address ${describeSockaddr(localAddressOf(fd))}`);
  return streamEndpoint(fd, req, kind.type, label, address);
}

async function setListenSockopt(fd: number, o: ResolvedOptions): Promise<void> {
  const text = o.string('setsockopt-listen');
  if (text !== undefined) await setRawSockopt(fd, 'setsockopt-listen', text);
}

async function reusePort(fd: number, o: ResolvedOptions): Promise<void> {
  if (!o.bool('so-reuseport')) return;
  const sys = await import('../../../sys/libc.js');
  sys.setIntSockopt(fd, sys.SOL_SOCKET, sys.SO_REUSEPORT, 1);
}

export interface ListenStream {
  /** How the listener and each peer are described: `<label>-LISTEN <here>`, `<label> <peer>`. */
  label: string;
  /** range: whether a peer may in; one refused is closed at once with socat's warning, and accepting goes on. */
  inRange?: (peer: Buffer) => boolean;
}

/** socket(), bind() on `address`, listen() (backlog), then one endpoint per accepted peer. */
export async function listenStream(req: AddressRequest, ctx: OpenContext, kind: SocketKind, address: Buffer, how: ListenStream): Promise<RawListener> {
  const o = req.options;
  // so-reuseport must be set before bind()
  const fd = await preparedSocket(kind.domain, kind.type, kind.protocol, o);
  try {
    await reusePort(fd, o);
    bindSocket(fd, address, describeSockaddr(address));
    await setListenSockopt(fd, o);
    listenSocket(fd, o.number('backlog') ?? 5);
  } catch (err) {
    closeDescriptor(fd);
    throw err;
  }
  const here = localAddressOf(fd);
  ctx.log.startRunning('starting accept loop');
  ctx.log.log('N', `listening on ${describeSockaddr(here)}`);
  return rawListener(fd, {
    description: `${how.label}-LISTEN ${describeSockaddr(here)}`,
    log: ctx.log,
    onAccept: async (conn, peer) => {
      if (how.inRange && !how.inRange(peer)) {
        ctx.log.log('W', `refusing connection from ${describeSockaddr(peer)} due to range option`);
        return undefined;
      }
      ctx.log.log('N', `accepting connection from ${describeSockaddr(peer)} on ${describeSockaddr(here)}`);
      const endpoint = streamEndpoint(conn, req, kind.type, how.label, peer);
      endpoint.connectionInfo = connectionInfo(here, peer);
      return endpoint;
    },
  });
}

/** The IP family a sockaddr is of, for socket(). */
export const ipDomain = (version: 4 | 6): number => (version === 6 ? AF_INET6 : AF_INET);
