/**
 * Connecting a TCP socket, as TCP does and as OPENSSL, PROXY and SOCKS do
 * before they speak their protocol over it: options socat sets before
 * connect(), bind/sourceport/lowport, connect-timeout, then the options of a
 * connected socket.
 */
import { closeSync } from 'node:fs';
import { Socket, type SocketConstructorOpts } from 'node:net';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { type SystemError, strerror, TsocatError } from '../../errors.js';
import type { AddressRequest, OpenContext } from '../context.js';
import { type ReusingSocket, reusingSocketForFd } from '../descriptors/socket-source.js';
import { AF_INET, AF_INET6, addrconfigHints, chooseFamily, familyFromEnv, formatSockaddr, parseHostPort, parsePort, resolveHost, sockaddrBytes, unbracket } from './inet.js';
import { applySockoptPhase, EARLY_OPTIONS, needsEarlyOptions } from './socket-phases.js';
import { applySocketOptions } from './sockopts.js';
import { RESOLVER_OPTIONS } from './resolver/name-server.js';

const LOW_PORT_FIRST = 640;
const LOW_PORT_COUNT = 1024 - LOW_PORT_FIRST;

interface ConnectTarget {
  host: string;
  port: number;
  family: 4 | 6;
  localAddress?: string;
  localPort?: number;
  noDelay: boolean;
  timeoutMs?: number;
  /** getaddrinfo flags for the name lookup (ai-addrconfig). */
  hints?: number;
  /** so-reuseaddr given and on: SO_REUSEADDR when binding the local address. */
  reuseAddr: boolean;
  /** The address's options, for those set between socket() and connect(). */
  options: ResolvedOptions;
  /** The socket reads into reused buffers from the start (socket-source.ts): a plain TCP address's, read by the pump. */
  reusingReads: boolean;
}

interface Connected {
  socket: Socket;
  reusing?: ReusingSocket;
}

/**
 * The socket Node connects, when Node's own would be wrong: options socat
 * sets before connect() (tcp-maxseg for the SYN, so-bindtodevice, so-mark,
 * reuseport, setsockopt-socket, …) need the socket before Node has one, and
 * libuv binds with SO_REUSEADDR always, which socat sets only when asked.
 * Then tsocat makes the socket, sets those options in socat's order, binds
 * it if asked, and Node connects that descriptor (connect({ fd })).
 */
async function localBinding(t: ConnectTarget): Promise<{ fd?: number; localAddress?: string; localPort?: number }> {
  const binds = t.localAddress !== undefined || t.localPort !== undefined;
  if (!needsEarlyOptions(t.options) && !t.options.has('netns') && (!binds || t.reuseAddr)) return binds ? { localAddress: t.localAddress, localPort: t.localPort } : {};
  const { preparedTcpSocket } = await import('../../sys/libc.js');
  const address = t.localAddress ?? (t.family === 6 ? '::' : '0.0.0.0');
  const port = t.localPort ?? 0;
  const setup = (fd: number) => {
    applySockoptPhase(fd, t.options, 'pastsocket');
    applySockoptPhase(fd, t.options, 'prebind');
  };
  const bindTo = binds ? { sockaddr: sockaddrBytes(address, port), described: formatSockaddr(address, port) } : undefined;
  const make = () => preparedTcpSocket(t.family === 6 ? AF_INET6 : AF_INET, setup, bindTo);
  // netns: the socket is made in that namespace (and stays there); Node then connects it
  if (t.options.has('netns')) return { fd: (await import('../../sys/netns.js')).inNetworkNamespace(t.options.string('netns') as string, undefined, make) };
  return { fd: make() };
}

/** One connect(); failures come back in socat's words. */
async function connectOnce(t: ConnectTarget, service: string): Promise<Connected> {
  const { fd, localAddress, localPort } = await localBinding(t);
  let host = t.host;
  // res-nsaddr: the name is looked up here, through the address's own server, and Node connects to the literal
  if (fd !== undefined || RESOLVER_OPTIONS.some((name) => t.options.has(name))) {
    // Node takes a descriptor it is given as open and reads it at once; given a name, it connects only after
    // looking it up, and that read fails first (ENOTCONN, hiding the connect's own error): look the name up first
    try {
      host = await resolveHost(t.host, service, t.family, t.options);
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      throw err;
    }
  }
  // what net.connect() does, with a Socket that may read into reused buffers
  // a Socket made over a descriptor starts reading at once unless told not to (Node's internal pauseOnCreate, as for
  // accepted sockets): libuv would take the peer's first bytes into JavaScript, out of the zero-copy path's reach
  const opts = { fd, allowHalfOpen: true, noDelay: t.noDelay, pauseOnCreate: fd !== undefined } as SocketConstructorOpts;
  const reusing = t.reusingReads ? reusingSocketForFd(opts) : undefined;
  const socket = reusing?.socket ?? new Socket(opts);
  if (t.timeoutMs) socket.setTimeout(t.timeoutMs);
  socket.connect({ host, port: t.port, family: t.family, localAddress, localPort, hints: t.hints });
  // Node starts reading as soon as it connects unless the socket is paused; nothing may be read
  // before a consumer asks, so a program can still take the descriptor over (nofork) with no byte lost
  socket.pause();
  return new Promise<Connected>((resolve, reject) => {
    const fail = (err: SystemError) => {
      socket.destroy();
      if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
        reject(new TsocatError(`getaddrinfo("${t.host}", "${service}", {}): ${strerror(err)}`, err.code));
      } else {
        reject(new TsocatError(`connect(${formatSockaddr(err.address ?? t.host, err.port ?? t.port)}): ${strerror(err)}`, err.code ?? 'ECONNECT'));
      }
    };
    socket.once('error', fail);
    socket.once('timeout', () => fail(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT', address: t.host, port: t.port })));
    socket.once('connect', () => {
      socket.off('error', fail);
      socket.setTimeout(0);
      // back to "no consumer yet": the first 'data' listener or resume() starts reading, as on any fresh socket
      (socket as { readableFlowing: boolean | null }).readableFlowing = null;
      resolve({ socket, reusing });
    });
  });
}

/** socat's lowport: the first free privileged port from 640 to 1023, tried from a random start. */
async function connectFromLowPort(attempt: (localPort: number) => Promise<Connected>): Promise<Connected> {
  const offset = Math.floor(Math.random() * LOW_PORT_COUNT);
  for (let i = 0; ; i++) {
    try {
      return await attempt(LOW_PORT_FIRST + ((offset + i) % LOW_PORT_COUNT));
    } catch (err) {
      const portTaken = err instanceof TsocatError && err.code === 'EADDRINUSE';
      if (!portTaken || i === LOW_PORT_COUNT - 1) throw err;
    }
  }
}

const familyOf = (keyword: string): 4 | 6 | 0 => (keyword.endsWith('4') ? 4 : keyword.endsWith('6') ? 6 : 0);

/**
 * A connected TCP socket to <hostText>:<portText> with the address's TCP,
 * SOCKET and IP options applied, still paused: the addresses that speak
 * something over TCP first (OPENSSL, PROXY, SOCKS) start from here.
 */
export async function connectTcpSocket(
  req: AddressRequest,
  ctx: OpenContext,
  hostText: string,
  portText: string,
  keywordFamily: 4 | 6 | 0 = familyOf(req.keyword.replace('-CONNECT', '')),
): Promise<Socket> {
  return (await connectTcp(req, ctx, hostText, portText, keywordFamily, false)).socket;
}

/** TCP's own connection: the same socket, reading into reused buffers from the start when it is read (`reusing`). */
export function connectPlainTcp(req: AddressRequest, ctx: OpenContext, hostText: string, portText: string): Promise<Connected> {
  return connectTcp(req, ctx, hostText, portText, familyOf(req.keyword.replace('-CONNECT', '')), req.mode !== 'w');
}

async function connectTcp(req: AddressRequest, ctx: OpenContext, hostText: string, portText: string, keywordFamily: 4 | 6 | 0, reusingReads: boolean): Promise<Connected> {
  const o = req.options;
  const host = unbracket(hostText);
  const port = parsePort(portText, host);
  const family = chooseFamily(keywordFamily, hostText, ctx.settings.preferredFamily || familyFromEnv('SOCAT_PREFERRED_RESOLVE_IP'), o.string('pf'));
  const bind = o.has('bind') ? parseHostPort(o.string('bind') as string) : {};
  const localPort = o.number('sourceport') ?? (bind.port ? parsePort(bind.port, bind.host ?? '') : undefined);
  // Node takes only an IP literal as the local address; socat resolves a name
  const localAddress = bind.host ? await resolveHost(bind.host, bind.port ?? 'NULL', family, o) : undefined;
  const timeout = o.number('connect-timeout');
  const attempt = (localPort: number | undefined) =>
    connectOnce(
      {
        host,
        port,
        family,
        localAddress,
        localPort,
        noDelay: o.bool('tcp-nodelay'),
        timeoutMs: timeout ? timeout * 1000 : undefined,
        hints: addrconfigHints(o),
        reuseAddr: o.bool('so-reuseaddr'),
        options: o,
        reusingReads,
      },
      portText,
    );
  const connected = localPort === undefined && o.bool('lowport') ? await connectFromLowPort(attempt) : await attempt(localPort);
  const { socket } = connected;
  // what went on before connect() is done; socat consumes an option once applied
  await applySocketOptions(socket, o.without(...EARLY_OPTIONS));
  if (ctx.log.enabled('N')) ctx.log.log('N', `successfully connected from local address ${formatSockaddr(socket.localAddress, socket.localPort)}`);
  return connected;
}
