/**
 * UDP and UDP-Lite sockets for the UDP* addresses. tsocat makes the socket
 * through libc (socket, the options socat sets before bind, bind) and hands
 * the bound descriptor to node:dgram (`bind({ fd })`), which then reads and
 * writes it on the event loop. node:dgram alone could neither set options
 * before bind() nor make a UDP-Lite socket (IPPROTO_UDPLITE).
 */
import { createSocket, type Socket as DgramSocket, type RemoteInfo } from 'node:dgram';
import { closeSync } from 'node:fs';
import { type BlockList, isIPv6 } from 'node:net';
import type { ResolvedOptions } from '../../../../options/catalog.js';
import { TsocatError } from '../../../errors.js';
import type { Logger } from '../../../log/logger.js';
import { AF_INET, AF_INET6, formatSockaddr, sockaddrBytes } from '../inet.js';
import { ANCILLARY_OPTIONS, enableAncillary } from '../ip-sockopts.js';
import { applyDescriptorSocketOptions, setRawSockopt } from '../sockopts.js';

export const IPPROTO_UDP = 17;
export const IPPROTO_UDPLITE = 136;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_KEEPALIVE = 9;
const SO_REUSEPORT = 15;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const UDPLITE_SEND_CSCOV = 10;
const UDPLITE_RECV_CSCOV = 11;

export interface UdpSocketRequest {
  family: 4 | 6;
  protocol: number;
  /** The local address; any address and port 0 when not given (as the kernel's autobind would pick). */
  local?: { address: string; port: number };
  options: ResolvedOptions;
  /** SO_REUSEADDR even without the option (socat sets it on a forking UDP-LISTEN). */
  reuseAddr?: boolean;
  /** At -d -d -d -d the bind() is logged, as socat logs its system calls (test.sh reads the port lowport chose from it). */
  log?: Logger;
}

export const anyAddress = (family: 4 | 6): string => (family === 6 ? '::' : '0.0.0.0');

/** Sets an int socket option, worded as socat's setsockopt() failure. */
async function setInt(fd: number, level: number, name: number, value: number): Promise<void> {
  const sys = await import('../../../sys/libc.js');
  sys.setIntSockopt(fd, level, name, value);
}

/** The options socat applies between socket() and bind(). */
async function beforeBind(fd: number, req: UdpSocketRequest): Promise<void> {
  const o = req.options;
  if (o.has('so-reuseaddr')) await setInt(fd, SOL_SOCKET, SO_REUSEADDR, o.bool('so-reuseaddr') ? 1 : 0);
  else if (req.reuseAddr) await setInt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  if (o.bool('so-reuseport')) await setInt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
  if (o.has('ipv6-v6only') && req.family === 6) await setInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, o.bool('ipv6-v6only') ? 1 : 0);
  if (o.has('so-keepalive')) await setInt(fd, SOL_SOCKET, SO_KEEPALIVE, o.bool('so-keepalive') ? 1 : 0);
  const listenOpt = o.string('setsockopt-listen');
  if (listenOpt !== undefined) await setRawSockopt(fd, 'setsockopt-listen', listenOpt);
  if (req.protocol === IPPROTO_UDPLITE) {
    const send = o.number('udplite-send-cscov');
    if (send !== undefined) await setInt(fd, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, send);
    const recv = o.number('udplite-recv-cscov');
    if (recv !== undefined) await setInt(fd, IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV, recv);
  }
  await applyDescriptorSocketOptions(fd, o);
}

/**
 * socket(), the options socat sets before bind() (`prepare`), bind() to the
 * address's local address: the descriptor both kinds of UDP socket start from.
 */
async function boundUdpDescriptor(req: UdpSocketRequest, prepare: (fd: number) => Promise<void>): Promise<number> {
  const sys = await import('../../../sys/sockets.js');
  const fd = sys.openSocket(req.family === 6 ? AF_INET6 : AF_INET, sys.SOCK_DGRAM, req.protocol);
  try {
    await prepare(fd);
    const address = req.local?.address ?? anyAddress(req.family);
    const port = req.local?.port ?? 0;
    const sockaddr = sockaddrBytes(address, port);
    sys.bindSocket(fd, sockaddr, formatSockaddr(address, port));
    if (req.log?.enabled('D')) req.log.log('D', `bind(${fd}, ${formatSockaddr(address, port)}, ${sockaddr.length}) -> 0`);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** A bound datagram socket with the address's options set, as a descriptor of tsocat's own (non-blocking). */
export function boundUdpSocket(req: UdpSocketRequest): Promise<number> {
  return boundUdpDescriptor(req, (d) => beforeBind(d, req));
}

/** A bound datagram socket with the address's options set, as a node:dgram socket. */
export async function openUdpSocket(req: UdpSocketRequest): Promise<DgramSocket> {
  const fd = await boundUdpSocket(req);
  const socket = createSocket({ type: req.family === 6 ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ fd }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return socket;
}

/**
 * A bound UDP socket read with recvmsg(), for UDP-RECV and UDP-RECVFROM with
 * options that ask for control messages (ancillary.ts): each packet comes
 * with them. It offers the node:dgram calls the UDP addresses use.
 */
export async function openAncillaryUdpSocket(req: UdpSocketRequest): Promise<DgramSocket> {
  const { AncillaryDatagramSocket } = await import('./ancillary-socket.js');
  const fd = await boundUdpDescriptor(req, async (d) => {
    await beforeBind(d, { ...req, options: req.options.without(...ANCILLARY_OPTIONS) });
    await enableAncillary(d, req.options);
  });
  // the same calls as a node:dgram socket, for the parts of it the addresses use (on, send, address, close)
  return new AncillaryDatagramSocket(fd) as unknown as DgramSocket;
}

/** Connects a datagram socket (its peer fixed: the kernel drops what others send). */
export async function connectUdp(socket: DgramSocket, address: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(new TsocatError(`connect(${formatSockaddr(address, port)}): ${err.message}`, err.code ?? 'ECONNECT'));
    socket.once('error', fail);
    socket.connect(port, address, () => {
      socket.off('error', fail);
      resolve();
    });
  });
}

/** Privileged ports, below IPPORT_RESERVED. */
const RESERVED_PORTS = 1024;

/** The peer checks of socat's receiving addresses: range, sourceport, lowport. */
export interface PeerCheck {
  range?: BlockList;
  sourcePort?: number;
  lowport?: boolean;
}

/** Why a sender is turned away (socat's words after "due to"), or undefined to take its packet. */
export function refusalOf(from: RemoteInfo, check: PeerCheck): string | undefined {
  if (check.range && !check.range.check(from.address, isIPv6(from.address) ? 'ipv6' : 'ipv4')) return 'range option';
  if (check.sourcePort !== undefined && from.port !== check.sourcePort) return 'wrong sourceport';
  if (check.lowport && from.port >= RESERVED_PORTS) return 'lowport option';
  return undefined;
}

/** Applies the checks to one packet, logging a refusal as socat does; true when it may pass. */
export function peerAllowed(from: RemoteInfo, check: PeerCheck, log: Logger): boolean {
  const refusal = refusalOf(from, check);
  if (refusal === undefined) return true;
  log.log('W', `refusing connection from ${formatSockaddr(from.address, from.port)} due to ${refusal}`);
  return false;
}

/** What socat exports about a datagram peer for a program started for it. */
export function udpConnectionInfo(socket: DgramSocket, peer: { address: string; port: number }, environmentAddress: (a: string) => string): Record<string, string> {
  const local = socket.address();
  return {
    SOCKADDR: environmentAddress(local.address),
    SOCKPORT: String(local.port),
    PEERADDR: environmentAddress(peer.address),
    PEERPORT: String(peer.port),
  };
}

/** Closes a datagram socket once, whatever state it is in. */
export function closeQuietly(socket: DgramSocket): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
