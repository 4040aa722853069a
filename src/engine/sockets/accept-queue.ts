/**
 * The accepting half of a stream listener, TCP-LISTEN's (a socket of its
 * own) and ACCEPT-FD's (an inherited one), accepted through the descriptor
 * layer so that it can pause: peers the range,
 * sourceport and lowport options turn away are closed with socat's warning,
 * the others wait until the relay asks for the next one.
 */
import { type BlockList, isIPv6, Socket, type SocketConstructorOpts } from 'node:net';
import type { ResolvedOptions } from '../../../options/catalog.js';
import type { AccessMode, Endpoint, Listener } from '../endpoint.js';
import type { OpenContext } from '../context.js';
import { reusingSocketForFd } from '../descriptors/socket-source.js';
import { environmentAddress, formatSockaddr } from './inet.js';
import { socketEndpoint } from './socket-endpoint.js';
import { applySocketOptions } from './sockopts.js';
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
  /** The Listener the relay uses; `kind` names the peers in log lines (e.g. `TCP`). */
  /** `peer` turns an accepted socket into its endpoint when plain socketEndpoint will not do (TLS for OPENSSL-LISTEN). */
  listener(description: string, kind: string, peer?: (socket: Socket) => Endpoint): Listener;
}

/**
 * The accepting half over a listening descriptor (TCP-LISTEN's own, or the
 * one ACCEPT-FD inherits): a peer is accepted only when the relay asks for
 * one (so max-children and the descriptor limit pause accepting,
 * raw-listener.ts), then becomes a Node socket, paused, so the rest of the
 * engine is unchanged. `range` is the parsed range option, if any; the other
 * checks are read from `o`. `unix`: the socket is a UNIX one, whose stream
 * peers have no name (socat shows `AF=1 ""`).
 */
export function acceptQueue(fd: number, o: ResolvedOptions, range: BlockList | undefined, mode: AccessMode, ctx: Pick<OpenContext, 'log'>, unix = false, shareable = false): AcceptQueue {
  const sourcePort = o.number('sourceport');
  const nameOf = (address: string | undefined, port: number | undefined) => (unix ? 'AF=1 ""' : formatSockaddr(address, port));
  return {
    listener(description, kind, peer) {
      const listener = rawListener(fd, {
        description,
        log: ctx.log,
        shareable,
        async onAccept(peerFd) {
          const opts = { fd: peerFd, allowHalfOpen: true, readable: true, writable: true, pauseOnCreate: true } as SocketConstructorOpts;
          // a plain peer that is read reads into reused buffers from the start (socket-source.ts): no second Socket object to move it to
          const reusing = !peer && mode !== 'w' ? reusingSocketForFd(opts) : undefined;
          const socket = reusing?.socket ?? new Socket(opts);
          socket.once('close', () => listener.descriptorsFreed());
          const name = nameOf(socket.remoteAddress, socket.remotePort);
          const refusal = refusalReason(socket, range, sourcePort, o.bool('lowport'));
          if (refusal) {
            ctx.log.log('W', `refusing connection from ${name} due to ${refusal}`);
            turnAway(socket);
            return DISPOSED;
          }
          if (ctx.log.enabled('N')) ctx.log.log('N', `accepting connection from ${name} on ${nameOf(socket.localAddress, socket.localPort)}`);
          return peerEndpoint(socket, o, () => (peer ? peer(socket) : socketEndpoint(reusing ?? socket, `${kind} ${name}`, mode)));
        },
      });
      return listener;
    },
  };
}
