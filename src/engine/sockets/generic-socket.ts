/**
 * What the socket addresses built on the descriptor layer share (generic
 * SOCKET-*, raw IP, INTERFACE, SOCKETPAIR): reading socat's numeric socket
 * parameters and sockaddr data, making a socket with its options set before
 * bind/connect, a non-blocking connect, and the peer checks of the
 * …-SENDTO types.
 */
import type { ResolvedOptions } from '../../../options/catalog.js';
import { C_LIMITS, parseCInteger, parseCTyped } from '../../../options/catalog.js';
import { TsocatError } from '../../errors.js';
import { DescriptorWatch, UV_WRITABLE } from '../../sys/poll.js';
import { AF_INET, AF_INET6, bindSocket, closeDescriptor, connectResult, connectSocket, openSocket, receive, SOCK_RAW } from '../../sys/sockets.js';
import { parseDalan } from '../descriptors/dalan.js';
import { applyFdOptions } from '../descriptors/fdopts.js';
import { describeSockaddr, parseSockaddr } from './sockaddr.js';
import { applyDescriptorSockopts } from './sockopts.js';

/** A socket parameter socat reads with strtoul(): a number in C notation. */
export function socketParameter(text: string, what: string): number {
  if (!/^\s*(0[xX][0-9a-fA-F]+|\d+)\s*$/.test(text)) throw new TsocatError(`${what} "${text}" is not a number`, 'EINVAL');
  // an int in socket(); socat's strtoul would wrap a larger one into another family
  const n = parseCInteger(text.trim(), what);
  if (n > C_LIMITS.int[1]) throw new TsocatError(`${what} "${text}": value exceeds limit (${n} vs. ${C_LIMITS.int[1]})`, 'EINVAL');
  return Number(n);
}

/** socat's protocol-family/pf: a number, or inet/inet4/ip4/ipv4, inet6/ip6/ipv6. */
export function protocolFamily(text: string): number {
  if (/^\d/.test(text)) return parseCTyped(text, `pf=${text}`, 'int');
  const name = text.toLowerCase();
  if (['inet', 'inet4', 'ip4', 'ipv4'].includes(name)) return AF_INET;
  if (['inet6', 'ip6', 'ipv6'].includes(name)) return AF_INET6;
  throw new TsocatError(`unknown protocol family "${text}"`, 'EOPTVALUE');
}

/** The socket type: so-type when given, else the address's own. */
export function socketTypeOf(options: ResolvedOptions, fallback: number): number {
  return options.number('so-type') ?? fallback;
}

/**
 * A struct sockaddr from socat's generic notation: the family, then the bytes
 * after it written in dalan (e.g. `x1f907f000001x0000000000000000` for
 * 127.0.0.1:8080, `"/tmp/sock\0"` for a UNIX path).
 */
export function genericSockaddr(family: number, data: string): Buffer {
  let body: Buffer;
  try {
    body = parseDalan(data);
  } catch {
    throw new TsocatError(`syntax error in "${data}"`, 'EINVAL');
  }
  // sockaddr_storage: 128 bytes in all
  if (body.length > 126) throw new TsocatError(`data too long: "${data}"`, 'EINVAL');
  const addr = Buffer.alloc(2 + body.length);
  addr.writeUInt16LE(family, 0);
  body.copy(addr, 2);
  return addr;
}

/**
 * socat's range on a generic socket (SOCKET-DATAGRAM, SOCKET-RECV):
 * `<address data>:<mask data>`, each the bytes of a struct sockaddr after its
 * family in dalan, as `range=x0000xc0a80100x0000000000000000:x0000xffffff00x0000000000000000`.
 * As in socat, only the IP address of a sender is compared (the bytes where
 * sin_addr or sin6_addr lie); a sender of any other family is refused.
 */
export function genericRange(text: string): (from: Buffer) => boolean {
  const colon = text.indexOf(':');
  if (colon < 0) throw new TsocatError(`syntax error in range "${text}" of unspecified address family: use <addr>:<mask>`, 'EOPTVALUE');
  // as sockaddrs: the family's two bytes, then the data; the shorter of the two is padded with 0, as socat recovers
  const network = genericSockaddr(0, text.slice(0, colon));
  const mask = genericSockaddr(0, text.slice(colon + 1));
  const within = (from: Buffer, start: number, length: number) => {
    for (let i = start; i < start + length; i++) if (((from[i] ?? 0) & (mask[i] ?? 0)) !== ((network[i] ?? 0) & (mask[i] ?? 0))) return false;
    return true;
  };
  return (from) => {
    const family = from.readUInt16LE(0);
    // sin_addr is 4 bytes at offset 4, sin6_addr 16 at offset 8
    if (family === AF_INET) return from.readUInt32BE(4) !== 0 && within(from, 4, 4);
    if (family === AF_INET6) return within(from, 8, 16);
    return false;
  };
}

/** Options an address's groups let through but that mean nothing for it: refused, never ignored. */
export function refuseOptions(options: ResolvedOptions, names: readonly string[], keyword: string): void {
  const given = names.find((name) => options.has(name));
  if (given) throw new TsocatError(`option "${given}" does not apply to ${keyword}`, 'EOPTAPPLY');
}

/** SO_REUSEADDR, SO_KEEPALIVE, the SOCKET options set with setsockopt() and the FD options: everything due before bind or connect. */
export async function applyEarlyOptions(fd: number, options: ResolvedOptions): Promise<void> {
  if (options.has('so-reuseaddr') || options.has('so-keepalive')) {
    const sys = await import('../../sys/libc.js');
    if (options.has('so-reuseaddr')) sys.setIntSockopt(fd, sys.SOL_SOCKET, sys.SO_REUSEADDR, options.bool('so-reuseaddr') ? 1 : 0);
    if (options.has('so-keepalive')) sys.setIntSockopt(fd, sys.SOL_SOCKET, sys.SO_KEEPALIVE, options.bool('so-keepalive') ? 1 : 0);
  }
  await applyFdOptions(fd, options);
  await applyDescriptorSockopts(fd, options);
}

const AF_PACKET = 17;

/** A raw IP or packet socket takes every packet of its protocol (every frame) until bind() narrows it to one address (one interface). */
const hearsBeforeBind = (domain: number, type: number) => type === SOCK_RAW || domain === AF_PACKET;

/** At most this many messages are dropped after bind: more than a default receive buffer holds. */
const DROP_MAX = 4096;

/**
 * Drops what a raw socket queued between socket() and bind(): packets for
 * other addresses. Kept, a client bound to 127.0.0.4 would read a reply meant
 * for 127.0.0.3 as its own (socat's socket has the same window, only a
 * shorter one). Done at once after bind(), before anything is sent, so
 * nothing this address asked for can be among them.
 */
function dropQueued(fd: number): void {
  const scratch = Buffer.allocUnsafe(1); // the kernel drops the rest of a longer message
  for (let i = 0; i < DROP_MAX && receive(fd, scratch); i++);
}

/** socket(), its options, and bind() when there is a local address: the descriptor, closed again on failure. */
export async function preparedSocket(domain: number, type: number, protocol: number, options: ResolvedOptions, local?: Buffer): Promise<number> {
  const fd = openSocket(domain, type, protocol);
  try {
    await applyEarlyOptions(fd, options);
    if (local) {
      bindSocket(fd, local, describeSockaddr(local));
      if (hearsBeforeBind(domain, type)) dropQueued(fd);
    }
    return fd;
  } catch (err) {
    closeDescriptor(fd);
    throw err;
  }
}

/** connect() without blocking the event loop: resolves once connected, rejects in socat's words. */
export async function connectDescriptor(fd: number, addr: Buffer, signal?: AbortSignal, timeoutSeconds?: number): Promise<void> {
  const described = describeSockaddr(addr);
  if (connectSocket(fd, addr, described)) return;
  await new Promise<void>((resolve, reject) => {
    // connect-timeout: socat's wording for a connect that did not finish in time
    const timer =
      timeoutSeconds === undefined
        ? undefined
        : setTimeout(() => void watch.close().then(() => reject(new TsocatError(`connecting to ${described}: Connection timed out`, 'ETIMEDOUT'))), timeoutSeconds * 1000);
    const watch = new DescriptorWatch(fd, () => {
      clearTimeout(timer);
      void watch.close().then(() => {
        try {
          connectResult(fd, addr, described);
          resolve();
        } catch (err) {
          reject(err);
        }
      });
    });
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        void watch.close().then(() => reject(new TsocatError('connect aborted', 'EABORT')));
      },
      { once: true },
    );
    watch.want(UV_WRITABLE);
  });
}

/**
 * Which received messages a …-SENDTO address takes: those from its peer, as
 * socat checks them (IP: the address, and the port where there is one; other
 * families: the bytes of the address).
 */
export function fromPeer(peer: Buffer, ignorePort = false): (from: Buffer) => boolean {
  const want = parseSockaddr(peer);
  return (from) => {
    const got = parseSockaddr(from);
    if (want.family === 'inet4' || want.family === 'inet6') {
      return got.family === want.family && got.address === want.address && (ignorePort || got.port === want.port);
    }
    const n = Math.min(from.length, peer.length);
    return from.subarray(0, n).equals(peer.subarray(0, n));
  };
}

/** An IPv4 raw socket hands each packet with its IP header; socat passes on what follows it. */
export function ipv4Payload(packet: Buffer): Buffer {
  if (packet.length < 20) return packet;
  const headerLength = ((packet[0] as number) & 0x0f) * 4;
  return packet.subarray(Math.min(headerLength, packet.length));
}
