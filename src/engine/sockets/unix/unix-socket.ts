/**
 * UNIX domain sockets through the descriptor layer (src/sys/sockets.ts), for
 * every UNIX and ABSTRACT address. Node's `net` covers only stream sockets and
 * passes sizeof(struct sockaddr_un) as the address length, so its abstract
 * names carry 100-odd NULs that socat's (tight, as on Linux) do not: a socket
 * Node makes cannot meet one socat makes. tsocat therefore makes, binds,
 * connects and listens on every UNIX socket itself; a connected stream socket
 * then goes to Node's net.Socket (reads into reused buffers), datagram and
 * seqpacket sockets to raw-socket.ts.
 */
import { Socket, type SocketConstructorOpts } from 'node:net';
import type { ResolvedOptions } from '../../../../options/catalog.js';
import { TsocatError } from '../../../errors.js';
import { crypto } from '../../../sys/builtins.js';
import { AF_UNIX, bindSocket, closeDescriptor, connectSocket, openSocket, SOCK_DGRAM, SOCK_STREAM } from '../../../sys/sockets.js';
import type { AccessMode, Endpoint } from '../../endpoint.js';
import { rawSocketEndpoint } from '../messages/raw-socket.js';
import { describeSockaddr } from '../sockaddr.js';
import { socketEndpoint } from '../socket-endpoint.js';
import { applyDescriptorSocketOptions } from '../sockopts.js';

/** sizeof(sun_path) on Linux. */
const SUN_PATH = 108;
/** sizeof(struct sockaddr_un): the length socat passes with unix-tightsocklen=0. */
const SOCKADDR_UN = 2 + SUN_PATH;

/**
 * A UNIX socket address as socat builds it: tight (the default on Linux)
 * passes only the family and the name's bytes (an abstract name after its
 * leading NUL); not tight passes the whole structure, zero-padded, which for
 * an abstract name means a different name.
 */
export function unixAddress(name: string, abstract: boolean, tight = true): Buffer {
  const bytes = Buffer.from(name);
  const room = abstract ? SUN_PATH - 1 : SUN_PATH;
  if (bytes.length > room) {
    throw new TsocatError(`unix socket address ${bytes.length} characters long, max length is ${SUN_PATH}`, 'ENAMETOOLONG');
  }
  const addr = Buffer.alloc(tight ? 2 + (abstract ? 1 : 0) + bytes.length : SOCKADDR_UN);
  addr.writeUInt16LE(AF_UNIX, 0);
  bytes.copy(addr, abstract ? 3 : 2);
  return addr;
}

/** socat's type names for the log and for errors. */
export const SOCKET_TYPES: Record<number, string> = { 1: 'stream', 2: 'dgram', 5: 'seqpacket' };

/**
 * unix-bind-tempname: each X of the pattern's "XXXXXX" becomes a random
 * letter or digit (socat's tempnam), so clients forked from one command line
 * bind different names.
 */
export function tempName(pattern: string | undefined): string {
  const text = pattern || '/tmp/socat-bind.XXXXXX';
  const at = text.indexOf('XXXXXX');
  if (at < 0) throw new TsocatError(`xio_tempnam("${text}"): path pattern is not valid`, 'EINVAL');
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const random = [...crypto().randomBytes(6)].map((b) => chars[b % chars.length]).join('');
  return text.slice(0, at) + random + text.slice(at + 6);
}

/** socket(AF_UNIX, type), its SOCKET and FD options, and bind() when there is a local address; closed again on failure. */
export async function unixSocket(type: number, protocol: number, options: ResolvedOptions, local?: Buffer): Promise<number> {
  const make = () => openSocket(AF_UNIX, type, protocol);
  // netns: an abstract name belongs to the namespace the socket was made in
  const netns = options.string('netns');
  const fd = netns === undefined ? make() : (await import('../../../sys/netns.js')).inNetworkNamespace(netns, undefined, make);
  try {
    if (local) bindSocket(fd, local, describeSockaddr(local));
    await applyDescriptorSocketOptions(fd, options);
    return fd;
  } catch (err) {
    closeDescriptor(fd);
    throw err;
  }
}

/**
 * connect() without blocking the event loop; rejects in socat's words
 * ("connect(, AF=1 "path", 6): …"). A UNIX connect either completes at once
 * or, when the listener's queue is full, fails with EAGAIN and must be tried
 * again (no event says when there is room): socat's blocking connect() waits
 * there, so tsocat tries again, backing off to 200 ms, until connect-timeout.
 */
export async function connectUnix(fd: number, addr: Buffer, signal: AbortSignal, timeoutSeconds?: number): Promise<void> {
  const described = `, ${describeSockaddr(addr)}`;
  const reword = (err: unknown) => (err instanceof TsocatError ? new TsocatError(err.message.replace(/^connect\(\d+, \{(.*)\}/, 'connect($1'), err.code) : err);
  const deadline = timeoutSeconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutSeconds * 1000;
  for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
    try {
      if (connectSocket(fd, addr, described)) return;
    } catch (err) {
      throw reword(err);
    }
    if (signal.aborted) throw new TsocatError('connect aborted', 'EABORT');
    if (Date.now() >= deadline) throw new TsocatError(`connect(${described}, ${addr.length}): Connection timed out`, 'ETIMEDOUT');
    await new Promise((r) => setTimeout(r, Math.min(pause, deadline - Date.now())));
  }
}

/** Node's Socket constructor takes `pauseOnCreate`, as net.Server uses it for accepted sockets: nothing is read before a consumer asks. */
type PausedSocketOpts = SocketConstructorOpts & { pauseOnCreate?: boolean };

export interface UnixEndpointOptions {
  description: string;
  mode: AccessMode;
  /** For an unconnected datagram socket (…-SENDTO, UNIX-CLIENT on a datagram socket): where writes go. */
  sendTo?: Buffer;
  /** Called once the descriptor is closed (unlink-close of a bound name). */
  onClose?: () => void;
  nullEof?: boolean;
}

/** A connected or bound UNIX socket of any type as an endpoint: streams through Node's net.Socket, messages through raw-socket.ts. */
export function unixEndpoint(fd: number, type: number, opts: UnixEndpointOptions): Endpoint {
  if (type === SOCK_STREAM) {
    const socket = new Socket({ fd, readable: true, writable: true, allowHalfOpen: true, pauseOnCreate: true } as PausedSocketOpts);
    const endpoint = socketEndpoint(socket, opts.description, opts.mode);
    if (!opts.onClose) return endpoint;
    const close = endpoint.close.bind(endpoint);
    const onClose = opts.onClose;
    let done = false;
    endpoint.close = async () => {
      await close();
      if (!done) onClose();
      done = true;
    };
    return endpoint;
  }
  return rawSocketEndpoint(fd, {
    message: true,
    halfClose: type !== SOCK_DGRAM,
    sendTo: opts.sendTo,
    nullEof: opts.nullEof,
    description: opts.description,
    mode: opts.mode,
    onClose: opts.onClose,
  });
}
