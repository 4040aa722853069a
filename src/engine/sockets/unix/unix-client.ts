/**
 * The UNIX addresses that reach out to a socket: UNIX-CONNECT, UNIX-SENDTO,
 * UNIX-CLIENT (and their ABSTRACT twins), and GOPEN on a socket file. Shared
 * here: the local name a client binds (bind, unix-bind-tempname), the NAMED
 * options on it, and its unlink-close.
 */
import type { SocketConstructorOpts } from 'node:net';
import type { ResolvedOptions } from '../../../../options/catalog.js';
import { TsocatError } from '../../../errors.js';
import { net } from '../../../sys/builtins.js';
import type { Logger } from '../../../log/logger.js';
import { closeDescriptor, localAddressOf, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM } from '../../../sys/sockets.js';
import type { AccessMode, Endpoint } from '../../endpoint.js';
import { applyNamedOptions } from '../../descriptors/fdopts.js';
import { removeEntry } from '../../descriptors/open-path.js';
import { reusingSocketForFd } from '../../descriptors/socket-source.js';
import { type Hold, openOwn, pathKey, releasedOnClose } from '../../held.js';
import { describeSockaddr } from '../sockaddr.js';
import { socketEndpoint } from '../socket-endpoint.js';
import { connectUnix, tempName, unixAddress, unixEndpoint, unixSocket } from './unix-socket.js';

/** NAMED options act on a socket file, which a client has only when it binds one. */
const NAMED_ON_BOUND = ['user', 'group', 'perm', 'user-early', 'group-early', 'perm-early', 'unlink-early', 'unlink', 'unlink-late'] as const;

export interface UnixTarget {
  name: string;
  abstract: boolean;
  options: ResolvedOptions;
  mode: AccessMode;
  log: Logger;
  signal: AbortSignal;
}

const tight = (o: ResolvedOptions) => !o.has('unix-tightsocklen') || o.bool('unix-tightsocklen');

/** The local name a client binds: bind=, or a fresh unix-bind-tempname (made again for each socket). */
interface LocalName {
  make(): { addr: Buffer; path?: string };
}

function localName(t: UnixTarget, keyword: string): LocalName | undefined {
  const o = t.options;
  const bind = o.string('bind');
  const temp = o.string('unix-bind-tempname');
  if (bind !== undefined && temp !== undefined) throw new TsocatError('do not use both options bind and unix-bind-tempname', 'EUSAGE');
  if (bind === undefined && temp === undefined) {
    const named = NAMED_ON_BOUND.find((n) => o.has(n));
    if (named) throw new TsocatError(`Option "${named}" only with bind option`, 'EUSAGE');
    return undefined;
  }
  void keyword;
  return {
    make() {
      const name = bind ?? tempName(temp);
      return { addr: unixAddress(name, t.abstract, tight(o)), path: t.abstract ? undefined : name };
    },
  };
}

/** After bind: the NAMED options on the new socket file; unlink-close (on by default for a bound path) when the address closes. */
function afterBind(path: string | undefined, o: ResolvedOptions): (() => void) | undefined {
  if (path === undefined) return undefined;
  applyNamedOptions(path, o);
  const unlinkClose = !o.has('unlink-close') || o.bool('unlink-close');
  return unlinkClose ? () => removeEntry(path) : undefined;
}

/** The options a socket's descriptor takes once its file has had the NAMED ones (no second chmod/chown on the descriptor). */
const descriptorOptions = (o: ResolvedOptions, bound: boolean) => (bound ? o.without('user', 'group', 'perm') : o);

/**
 * socket() and bind to the local name when there is one. A socket file an
 * ending session of this relay still has bound (removed at its close, after
 * its close wait) is waited for rather than refused (src/engine/held.ts); the
 * file is then held until the caller releases it, after removing it.
 */
async function boundSocket(t: UnixTarget, type: number, local: { addr: Buffer; path?: string } | undefined): Promise<{ fd: number; held?: Hold }> {
  const o = t.options;
  const bind = async () => {
    if (local?.path !== undefined && (o.bool('unlink-early') || o.bool('unlink'))) removeEntry(local.path);
    return unixSocket(type, o.number('so-protocol') ?? 0, descriptorOptions(o, local !== undefined), local?.addr);
  };
  if (local?.path === undefined) return { fd: await bind() };
  const inUse = (err: unknown) => err instanceof TsocatError && err.code === 'EADDRINUSE';
  const { value: fd, held } = await openOwn(pathKey('socket', local.path), inUse, t.log, t.signal, bind, 'ending');
  return { fd, held };
}

/** A client's endpoint, holding its bound socket file (if any) until it has closed and removed it. */
const holding = (endpoint: Endpoint, held: Hold | undefined): Endpoint => (held ? releasedOnClose(endpoint, held) : endpoint);

/** socket(), bind when asked, connect: the connected descriptor, what to do when it closes, and the socket file it holds. */
async function connectOnce(t: UnixTarget, type: number, keyword: string): Promise<{ fd: number; onClose?: () => void; held?: Hold }> {
  const o = t.options;
  const local = localName(t, keyword)?.make();
  const peer = unixAddress(t.name, t.abstract, tight(o));
  const { fd, held } = await boundSocket(t, type, local);
  let onClose: (() => void) | undefined;
  try {
    onClose = afterBind(local?.path, o);
    await connectUnix(fd, peer, t.signal, o.number('connect-timeout'));
  } catch (err) {
    closeDescriptor(fd);
    onClose?.();
    held?.release();
    throw err;
  }
  return { fd, onClose, held };
}

function logConnected(t: UnixTarget, fd: number): void {
  t.log.log('N', `successfully connected from local address ${describeSockaddr(localAddressOf(fd))}`);
}

/** What getsockname() says of a socket that was never bound: the family alone. */
const UNNAMED = Buffer.from([1, 0]);

/**
 * A UNIX-CONNECT to a path with no option is a stream socket Node's net.connect
 * makes exactly as the descriptor layer would (an abstract name it would pad,
 * a 108-byte path it cannot hold), so a plain one is connected by Node and the
 * start loads no koffi (18-25 % of Node's own start-up). Any failure is tried
 * again through the descriptor layer, which words it as socat does and waits
 * out a listener's full queue; a refused connect leaves nothing behind to undo.
 */
async function nodeConnect(t: UnixTarget, description: string): Promise<Endpoint | undefined> {
  if (t.abstract || t.options.names().length > 0 || Buffer.byteLength(t.name) >= 108) return undefined;
  // reads into reused buffers from the start, as a plain TCP address's (socket-source.ts)
  const reusing = t.mode === 'w' ? undefined : reusingSocketForFd({ allowHalfOpen: true } as SocketConstructorOpts);
  const socket = reusing?.socket ?? new (net().Socket)({ allowHalfOpen: true });
  socket.connect({ path: t.name });
  // nothing is read before a consumer asks (a program may still take the descriptor over)
  socket.pause();
  const connected = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    socket.once('connect', () => resolve(true));
  });
  if (!connected) {
    socket.destroy();
    return undefined;
  }
  socket.removeAllListeners('error');
  // back to "no consumer yet": the first 'data' listener or resume() starts reading, as on any fresh socket
  (socket as { readableFlowing: boolean | null }).readableFlowing = null;
  t.log.log('N', `successfully connected from local address ${describeSockaddr(UNNAMED)}`);
  return socketEndpoint(reusing ?? socket, description, t.mode);
}

/** UNIX-CONNECT, ABSTRACT-CONNECT: connect a socket of so-type (stream by default). */
export async function unixConnect(t: UnixTarget, keyword: string): Promise<Endpoint> {
  const type = t.options.number('so-type') ?? SOCK_STREAM;
  t.log.log('N', `opening connection to ${describeSockaddr(unixAddress(t.name, t.abstract, tight(t.options)))}`);
  const plain = await nodeConnect(t, `${keyword} ${t.name}`);
  if (plain) return plain;
  const { fd, onClose, held } = await connectOnce(t, type, keyword);
  logConnected(t, fd);
  return holding(unixEndpoint(fd, type, { description: `${keyword} ${t.name}`, mode: t.mode, onClose }), held);
}

/** UNIX-SENDTO, ABSTRACT-SENDTO: a datagram socket (or so-type) that sends each message to the name; bound, it also hears replies. */
export async function unixSendTo(t: UnixTarget, keyword: string, type = t.options.number('so-type') ?? SOCK_DGRAM): Promise<Endpoint> {
  const o = t.options;
  const local = localName(t, keyword)?.make();
  const { fd, held } = await boundSocket(t, type, local);
  let onClose: (() => void) | undefined;
  try {
    onClose = afterBind(local?.path, o);
  } catch (err) {
    closeDescriptor(fd);
    held?.release();
    throw err;
  }
  return holding(unixEndpoint(fd, type, { description: `${keyword} ${t.name}`, mode: t.mode, sendTo: unixAddress(t.name, t.abstract, tight(o)), onClose }), held);
}

/** What a connect to a socket of another type says: EPROTOTYPE for a path; an abstract name just refuses. */
function wrongType(err: unknown, abstract: boolean): boolean {
  const code = (err as { code?: string }).code;
  return code === 'EPROTOTYPE' || (abstract && code === 'ECONNREFUSED');
}

/**
 * UNIX-CLIENT, ABSTRACT-CLIENT and GOPEN on a socket: as socat, connect as a
 * stream socket; when the socket is of another type, as a seqpacket socket;
 * then send datagrams to it. so-type fixes the type and tries only that one.
 */
export async function unixClient(t: UnixTarget, keyword: string, failurePrefix: string): Promise<Endpoint> {
  const given = t.options.number('so-type');
  const description = `${keyword} ${t.name}`;
  try {
    for (const type of given !== undefined ? [given] : [SOCK_STREAM, SOCK_SEQPACKET]) {
      try {
        const { fd, onClose, held } = await connectOnce(t, type, keyword);
        logConnected(t, fd);
        return holding(unixEndpoint(fd, type, { description, mode: t.mode, onClose }), held);
      } catch (err) {
        if (given !== undefined || !wrongType(err, t.abstract)) throw err;
        t.log.log('I', `${describeSockaddr(unixAddress(t.name, t.abstract))}: not a ${type === SOCK_STREAM ? 'stream' : 'seqpacket'} socket`);
      }
    }
    return await unixSendTo(t, keyword, SOCK_DGRAM);
  } catch (err) {
    if (!(err instanceof TsocatError) || err.code === 'EUSAGE' || err.code === 'ENAMETOOLONG') throw err;
    // socat words a client's failure with its address and the reason alone
    const reason = err.message.replace(/^.*\): /, '');
    throw new TsocatError(`${failurePrefix}: ${reason}`, err.code);
  }
}
