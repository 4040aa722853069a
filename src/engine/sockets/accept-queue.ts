/**
 * The accepting half of a stream listener: TCP-LISTEN's (a socket of its
 * own, accepted through the descriptor layer so that it can pause) and
 * ACCEPT-FD's (an inherited one, under Node's server): peers the range,
 * sourceport and lowport options turn away are closed with socat's warning,
 * the others wait until the relay asks for the next one.
 */
import { type BlockList, isIPv6, type Server, Socket } from 'node:net';
import type { ResolvedOptions } from '../../../options/catalog.js';
import type { AccessMode, Endpoint, Listener } from '../endpoint.js';
import type { OpenContext } from '../context.js';
import { environmentAddress, formatSockaddr } from './inet.js';
import { socketEndpoint } from './socket-endpoint.js';
import { applySocketOptions } from './sockopts.js';
import { strerror, TsocatError, type SystemError } from '../../errors.js';
import { DISPOSED, rawListener } from './raw-listener.js';

/** Privileged ports, below IPPORT_RESERVED: what lowport asks of a client. */
const RESERVED_PORTS = 1024;

/** Why a peer is turned away (socat's wording after "due to"), or undefined to accept it. */
function refusalReason(socket: Socket, range: BlockList | undefined, sourcePort: number | undefined, lowport: boolean): string | undefined {
  const address = socket.remoteAddress ?? '';
  if (range && !range.check(address, isIPv6(address) ? 'ipv6' : 'ipv4')) return 'range option';
  // on a listener, sourceport and lowport are checks on the client's port, as in socat
  if (sourcePort !== undefined) return socket.remotePort === sourcePort ? undefined : 'wrong sourceport';
  if (lowport && (socket.remotePort ?? RESERVED_PORTS) >= RESERVED_PORTS) return 'lowport option';
  return undefined;
}

/** How a socket address is named in log lines; a UNIX stream peer has no name, as socat shows it. */
function socketName(server: Server, address: string | undefined, port: number | undefined): string {
  // an IP listener has an address object; a UNIX one (a path, or null when inherited) has not
  const own = server.address();
  return own !== null && typeof own === 'object' ? formatSockaddr(address, port) : 'AF=1 ""';
}

/** The accepted socket as the peer's endpoint, with socat's SOCAT_SOCKADDR/PEERADDR… */
async function peerEndpoint(socket: Socket, o: ResolvedOptions, make: () => Endpoint): Promise<Endpoint> {
  await applySocketOptions(socket, o);
  const endpoint = make();
  endpoint.connectionInfo = {
    ...endpoint.connectionInfo,
    SOCKADDR: environmentAddress(socket.localAddress),
    SOCKPORT: String(socket.localPort ?? ''),
    PEERADDR: environmentAddress(socket.remoteAddress),
    PEERPORT: String(socket.remotePort ?? ''),
  };
  return endpoint;
}

/** Turns a refused peer away as socat does: shutdown first, then close, so the client sees end of file rather than only a reset. */
function turnAway(socket: Socket): void {
  socket.on('error', () => {});
  socket.end(() => socket.destroy());
}

export interface AcceptQueue {
  /** The Listener the relay uses, once the server listens; `kind` names the peers in log lines (e.g. `TCP`). */
  /** `peer` turns an accepted socket into its endpoint when plain socketEndpoint will not do (TLS for OPENSSL-LISTEN). */
  listener(description: string, kind: string, peer?: (socket: Socket) => Endpoint): Listener;
}

/**
 * Attaches to a server before it listens. `range` is the parsed range option,
 * if any; the other checks are read from `o`.
 */
export function acceptQueue(server: Server, o: ResolvedOptions, range: BlockList | undefined, mode: AccessMode, ctx: Pick<OpenContext, 'log'>): AcceptQueue {
  const sourcePort = o.number('sourceport');
  const queue: Socket[] = [];
  const waiters: Array<{ resolve: (s: Socket) => void; reject: (e: Error) => void }> = [];
  let failure: TsocatError | undefined;

  server.on('connection', (socket: Socket) => {
    const peer = socketName(server, socket.remoteAddress, socket.remotePort);
    const refusal = refusalReason(socket, range, sourcePort, o.bool('lowport'));
    if (refusal) {
      ctx.log.log('W', `refusing connection from ${peer} due to ${refusal}`);
      turnAway(socket);
      return;
    }
    ctx.log.log('N', `accepting connection from ${peer} on ${socketName(server, socket.localAddress, socket.localPort)}`);
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(socket);
    else queue.push(socket);
  });
  server.on('error', (err: SystemError) => {
    failure = new TsocatError(`accept(): ${strerror(err)}`, err.code ?? 'EACCEPT');
    for (const w of waiters.splice(0)) w.reject(failure);
  });

  const nextSocket = () =>
    new Promise<Socket>((resolve, reject) => {
      if (failure) return reject(failure);
      const s = queue.shift();
      if (s) resolve(s);
      else waiters.push({ resolve, reject });
    });

  return {
    listener(description, kind, peer) {
      return {
        kind: 'listener',
        description,
        async accept(): Promise<Endpoint> {
          const socket = await nextSocket();
          return peerEndpoint(socket, o, () => (peer ? peer(socket) : socketEndpoint(socket, `${kind} ${socketName(server, socket.remoteAddress, socket.remotePort)}`, mode)));
        },
        async close() {
          failure ??= new TsocatError('listener closed', 'ECLOSED');
          for (const w of waiters.splice(0)) w.reject(failure);
          for (const s of queue.splice(0)) s.destroy();
          // close() stops listening at once; its callback would wait for every accepted peer to leave
          server.close();
        },
      };
    },
  };
}

/**
 * TCP-LISTEN's accepting half over its own listening descriptor: a peer is
 * accepted only when the relay asks for one (so max-children and the
 * descriptor limit pause accepting, src/engine/sockets/raw-listener.ts), then
 * becomes a Node socket, paused, so the rest of the engine is unchanged.
 */
export function descriptorAcceptQueue(fd: number, o: ResolvedOptions, range: BlockList | undefined, mode: AccessMode, ctx: Pick<OpenContext, 'log'>): AcceptQueue {
  const sourcePort = o.number('sourceport');
  return {
    listener(description, kind, peer) {
      const listener = rawListener(fd, {
        description,
        log: ctx.log,
        async onAccept(peerFd) {
          const socket = new Socket({ fd: peerFd, allowHalfOpen: true, readable: true, writable: true, pauseOnCreate: true } as ConstructorParameters<typeof Socket>[0]);
          socket.once('close', () => listener.descriptorsFreed());
          const name = formatSockaddr(socket.remoteAddress, socket.remotePort);
          const refusal = refusalReason(socket, range, sourcePort, o.bool('lowport'));
          if (refusal) {
            ctx.log.log('W', `refusing connection from ${name} due to ${refusal}`);
            turnAway(socket);
            return DISPOSED;
          }
          ctx.log.log('N', `accepting connection from ${name} on ${formatSockaddr(socket.localAddress, socket.localPort)}`);
          return peerEndpoint(socket, o, () => (peer ? peer(socket) : socketEndpoint(socket, `${kind} ${name}`, mode)));
        },
      });
      return listener;
    },
  };
}
