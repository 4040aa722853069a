/**
 * The accepting half of a stream listener, shared by TCP-LISTEN (which binds
 * its own socket) and ACCEPT-FD (which inherits one): peers the range,
 * sourceport and lowport options turn away are closed with socat's warning,
 * the others queue until the relay asks for the next one.
 */
import { type BlockList, isIPv6, type Server, type Socket } from 'node:net';
import type { ResolvedOptions } from '../../../options/catalog.js';
import type { AccessMode, Endpoint, Listener } from '../endpoint.js';
import type { OpenContext } from '../context.js';
import { environmentAddress, formatSockaddr } from './inet.js';
import { socketEndpoint } from './socket-endpoint.js';
import { applySocketOptions } from './sockopts.js';
import { strerror, TsocatError, type SystemError } from '../../errors.js';

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
      // shutdown first, then close, as socat: the client sees end of file rather than only a reset
      socket.on('error', () => {});
      socket.end(() => socket.destroy());
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
          await applySocketOptions(socket, o);
          const endpoint = peer ? peer(socket) : socketEndpoint(socket, `${kind} ${socketName(server, socket.remoteAddress, socket.remotePort)}`, mode);
          endpoint.connectionInfo = {
            ...endpoint.connectionInfo,
            SOCKADDR: environmentAddress(socket.localAddress),
            SOCKPORT: String(socket.localPort ?? ''),
            PEERADDR: environmentAddress(socket.remoteAddress),
            PEERPORT: String(socket.remotePort ?? ''),
          };
          return endpoint;
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
