/**
 * UNIX-CONNECT, UNIX-LISTEN, UNIX-SENDTO, UNIX-RECVFROM, UNIX-RECV,
 * UNIX-CLIENT and their ABSTRACT-* twins (Linux's abstract namespace: a name
 * with no file behind it, so no NAMED options). Every socket is made through
 * the descriptor layer (src/engine/sockets/unix/unix-socket.ts says why), but a
 * UNIX-CONNECT to a path with no option (Node's net, unix-client.ts); stream, datagram
 * and seqpacket alike, so-type choosing where socat lets it.
 */
import { lstatSync } from 'node:fs';
import type { OptionGroup, ResolvedOptions } from '../options/catalog.js';
import { type AddressPlugin, type AddressRequest, defineAddress } from '../src/define.js';
import type { OpenContext } from '../src/engine/context.js';
import type { Endpoint, Listener } from '../src/engine/endpoint.js';
import { applyNamedOptions } from '../src/engine/descriptors/fdopts.js';
import { removeEntry } from '../src/engine/descriptors/open-path.js';
import { rawListener } from '../src/engine/sockets/raw-listener.js';
import { recvFromListener } from '../src/engine/sockets/messages/recvfrom-listener.js';
import { describeSockaddr, parseSockaddr } from '../src/engine/sockets/sockaddr.js';
import { applyDescriptorSocketOptions, setRawSockopt } from '../src/engine/sockets/sockopts.js';
import { connectWithReconnect } from '../src/engine/opening/reconnect.js';
import { type UnixTarget, unixClient, unixConnect, unixSendTo } from '../src/engine/sockets/unix/unix-client.js';
import { unixAddress, unixEndpoint, unixSocket } from '../src/engine/sockets/unix/unix-socket.js';
import { TsocatError } from '../src/errors.js';
import { closeDescriptor, listenSocket, localAddressOf, SOCK_DGRAM, SOCK_STREAM } from '../src/sys/sockets.js';

const BASE: readonly OptionGroup[] = ['FD', 'SOCKET', 'UNIX', 'RETRY', 'APPL'];

/** Options whose groups an address lists but that mean nothing for a UNIX socket: refused, never ignored. */
const NOT_FOR_UNIX = ['pf', 'so-reuseport', 'ipv6-v6only'];
const NOT_FOR_SERVERS = [...NOT_FOR_UNIX, 'unix-bind-tempname', 'connect-timeout'];

function refuse(o: ResolvedOptions, names: readonly string[]): void {
  const given = names.find((n) => o.has(n));
  if (given) throw new TsocatError(`applyopts(): option "${given}" does not apply to this address`, 'EOPTAPPLY');
}

const tight = (o: ResolvedOptions) => !o.has('unix-tightsocklen') || o.bool('unix-tightsocklen');

function target(req: AddressRequest, ctx: OpenContext, abstract: boolean): UnixTarget {
  return { name: req.params[0] as string, abstract, options: req.options, mode: req.mode, log: ctx.log, signal: ctx.signal };
}

/**
 * What a server address (LISTEN, RECVFROM, RECV) does to its name before and
 * after bind, as socat: a path that exists is an error unless unlink-early
 * removes it; after bind the NAMED options act on the new socket file
 * (an abstract name has none: user, group and mode go to the descriptor);
 * unlink-close, on by default, removes the file when the address closes.
 */
async function boundServerSocket(req: AddressRequest, abstract: boolean, type: number): Promise<{ fd: number; addr: Buffer; onClose?: () => void }> {
  const o = req.options;
  const name = req.params[0] as string;
  refuse(o, NOT_FOR_SERVERS);
  if (o.has('bind')) throw new TsocatError(`${req.keyword}:${name}: binds implicitly, bind option not allowed`, 'EUSAGE');
  const addr = unixAddress(name, abstract, tight(o));
  if (!abstract) {
    if (o.bool('unlink-early') || o.bool('unlink')) removeEntry(name);
    else if (exists(name)) throw new TsocatError(`"${name}" exists`, 'EEXIST');
  }
  const fd = await unixSocket(type, o.number('so-protocol') ?? 0, abstract ? o : o.without('user', 'group', 'perm'), addr);
  try {
    if (abstract) return { fd, addr };
    const unlinkClose = !o.has('unlink-close') || o.bool('unlink-close');
    const onClose = unlinkClose ? () => removeEntry(name) : undefined;
    try {
      applyNamedOptions(name, o);
      if (o.bool('unlink-late')) removeEntry(name);
    } catch (err) {
      onClose?.();
      throw err;
    }
    return { fd, addr, onClose };
  } catch (err) {
    closeDescriptor(fd);
    throw err;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The accepted peer's options: the socket-level ones; the file's owner and mode were the listening socket's. */
const acceptedOptions = (o: ResolvedOptions) => o.without('user', 'group', 'perm', 'setsockopt-listen');

/** socat's SOCAT_PEERADDR and SOCAT_SOCKADDR for a program started for a peer: the names, as the log shows them. */
function connectionInfo(local: Buffer, peer: Buffer): Record<string, string> {
  const name = (addr: Buffer) => {
    const p = parseSockaddr(addr);
    // an environment variable cannot hold NUL: written as the log writes it
    return p.family === 'unix' ? (p.unnamed ? '' : p.abstract ? `\0${p.path}` : p.path).replace(/\0/g, '\\0') : '';
  };
  return { SOCKADDR: name(local), PEERADDR: name(peer) };
}

/** A listener waiting for its first peer closes when tsocat is told to stop (SIGTERM…), so unlink-close removes its socket file, as socat's exit does. */
function closedOnAbort(ctx: OpenContext, listener: Listener): Listener {
  ctx.signal.addEventListener('abort', () => void listener.close(), { once: true });
  return listener;
}

/** The bound, listening server socket; its socket file is removed by `onClose`. */
async function listeningServerSocket(req: AddressRequest, abstract: boolean, type: number): Promise<{ fd: number; addr: Buffer; onClose?: () => void }> {
  const o = req.options;
  const bound = await boundServerSocket(req, abstract, type);
  try {
    const listenOpt = o.string('setsockopt-listen');
    if (listenOpt !== undefined) await setRawSockopt(bound.fd, 'setsockopt-listen', listenOpt);
    // Node's and tsocat's TCP listeners queue 511; socat's 5 makes a busy non-blocking client fail with EAGAIN
    listenSocket(bound.fd, o.number('backlog') ?? 511);
  } catch (err) {
    closeDescriptor(bound.fd);
    bound.onClose?.();
    throw err;
  }
  return bound;
}

async function listen(req: AddressRequest, ctx: OpenContext, abstract: boolean): Promise<Listener> {
  const o = req.options;
  const type = o.number('so-type') ?? SOCK_STREAM;
  // a --workers worker takes the socket its parent bound; the parent alone removes the socket file
  const inherited = ctx.inheritedListener;
  const { fd, addr, onClose } =
    inherited === undefined ? await listeningServerSocket(req, abstract, type) : { fd: inherited, addr: localAddressOf(inherited), onClose: undefined };
  const local = describeSockaddr(addr);
  ctx.log.startRunning('starting accept loop');
  if (inherited === undefined) ctx.log.log('N', `listening on ${local}`);
  return closedOnAbort(ctx, rawListener(fd, {
    description: `${req.keyword} ${req.params[0]}`,
    onClose,
    log: ctx.log,
    shareable: true,
    async onAccept(peerFd, peer) {
      ctx.log.log('N', `accepting connection from ${describeSockaddr(peer)} on ${local}`);
      await applyDescriptorSocketOptions(peerFd, acceptedOptions(o));
      const endpoint = unixEndpoint(peerFd, type, { description: `${req.keyword} ${req.params[0]}`, mode: req.mode });
      endpoint.connectionInfo = connectionInfo(addr, peer);
      return endpoint;
    },
  }));
}

/** …-RECVFROM: each message from a sender is a session that answers that sender (with fork, one session per message). */
async function recvFrom(req: AddressRequest, ctx: OpenContext, abstract: boolean): Promise<Listener> {
  const o = req.options;
  const { fd, addr, onClose } = await boundServerSocket(req, abstract, o.number('so-type') ?? SOCK_DGRAM);
  ctx.log.log('N', `receiving on ${describeSockaddr(addr)}`);
  return closedOnAbort(ctx, recvFromListener(fd, {
    description: `${req.keyword} ${req.params[0]}`,
    readSize: ctx.settings.blockSize,
    mode: req.mode,
    onMessage: (from, length) => ctx.log.log('N', `receiving packet from ${describeSockaddr(from)} (${length} bytes)`),
    connectionInfo: (from) => connectionInfo(addr, from),
    onClose,
  }));
}

/** …-RECV: every message from anyone, read only. */
async function recv(req: AddressRequest, ctx: OpenContext, abstract: boolean): Promise<Endpoint> {
  const o = req.options;
  const type = o.number('so-type') ?? SOCK_DGRAM;
  const { fd, addr, onClose } = await boundServerSocket(req, abstract, type);
  ctx.log.log('N', `receiving on ${describeSockaddr(addr)}`);
  return unixEndpoint(fd, type, { description: `${req.keyword} ${req.params[0]}`, mode: 'r', onClose });
}

function clientChecks(o: ResolvedOptions): void {
  refuse(o, NOT_FOR_UNIX);
}

/** socat's other keywords for these addresses. */
const UNIX_ALIASES: Partial<Record<Kind, string[]>> = { CLIENT: ['UNIX'], CONNECT: ['LOCAL'], LISTEN: ['UNIX-L'], SENDTO: ['UNIX-SEND'] };
const ABSTRACT_ALIASES: Partial<Record<Kind, string[]>> = { CLIENT: ['ABSTRACT'] };

type Kind = 'CONNECT' | 'LISTEN' | 'SENDTO' | 'RECVFROM' | 'RECV' | 'CLIENT';

const SUMMARIES: Record<Kind, string> = {
  CONNECT: 'connect to a UNIX socket (stream; so-type=5 seqpacket)',
  LISTEN: 'listen on a UNIX socket, accept one peer (or one session per peer with fork)',
  SENDTO: 'send datagrams to a UNIX datagram socket (bind= to hear replies)',
  RECVFROM: 'receive a datagram on a UNIX socket and answer its sender (one session per datagram with fork)',
  RECV: 'receive datagrams on a UNIX socket (read only)',
  CLIENT: 'talk to a UNIX socket of any type: stream, else seqpacket, else datagrams',
};

function family(abstract: boolean): AddressPlugin[] {
  const prefix = abstract ? 'ABSTRACT' : 'UNIX';
  const groups = (extra: readonly OptionGroup[]): OptionGroup[] => [...BASE, ...(abstract ? [] : (['NAMED'] as const)), ...extra];
  const make = (kind: Kind, extra: readonly OptionGroup[], open: (req: AddressRequest, ctx: OpenContext) => Promise<Endpoint | Listener>, more: Partial<AddressPlugin> = {}) =>
    defineAddress({
      names: [`${prefix}-${kind}`, ...((abstract ? ABSTRACT_ALIASES : UNIX_ALIASES)[kind] ?? [])],
      params: [abstract ? 'string' : 'filename'],
      groups: groups(extra),
      features: abstract ? ['UNIX', 'ABSTRACT_UNIXSOCKET'] : ['UNIX'],
      summary: abstract ? `${SUMMARIES[kind]}, in the abstract namespace` : SUMMARIES[kind],
      open,
      ...more,
    });
  return [
    make('CONNECT', ['RECONNECT'], async (req, ctx) => {
      clientChecks(req.options);
      // reconnect: one endpoint for the whole session over connections that may drop
      return connectWithReconnect(() => unixConnect(target(req, ctx, abstract), req.keyword), req.options, ctx);
    }),
    make('LISTEN', ['LISTEN', 'CHILD'], (req, ctx) => listen(req, ctx, abstract), { workers: true }),
    make('SENDTO', [], async (req, ctx) => {
      clientChecks(req.options);
      return unixSendTo(target(req, ctx, abstract), req.keyword);
    }),
    make('RECVFROM', ['CHILD'], (req, ctx) => recvFrom(req, ctx, abstract)),
    make('RECV', [], (req, ctx) => recv(req, ctx, abstract), { directions: 'r' }),
    make('CLIENT', [], async (req, ctx) => {
      clientChecks(req.options);
      return unixClient(target(req, ctx, abstract), req.keyword, `${req.keyword}: ${req.params[0]}`);
    }),
  ];
}

export default [...family(false), ...family(true)];
