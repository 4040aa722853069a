/** The one place a connected net.Socket becomes an Endpoint (TCP, UNIX, accepted peers). */
import { Socket } from 'node:net';
import { type AccessMode, type Endpoint, makeEndpoint } from '../endpoint.js';
import { type ReusingSocket, rehomeSocket } from '../descriptors/socket-source.js';
import { descriptorOf } from './sockopts.js';

/**
 * so-linger=0 needs nothing here: SO_LINGER {1,0} is set on the socket, so the
 * close after shutdown resets the connection, as in socat (FIN, then RST).
 */
export function socketEndpoint(connected: Socket | ReusingSocket, description: string, mode: AccessMode = 'rw'): Endpoint {
  // reads go into reused buffers: a socket made for that already does; another that has read nothing yet (callers keep it paused) moves onto one
  const moved = !(connected instanceof Socket) ? connected : mode === 'w' ? undefined : rehomeSocket(connected);
  const socket = moved?.socket ?? (connected as Socket);
  // a program given a TLS connection's descriptor would see ciphertext: nofork has nothing to hand over
  const fd = (socket as { encrypted?: boolean }).encrypted === true ? undefined : descriptorOf(socket);
  // a socket read through Node's own path (it could not be moved) may hold bytes in JavaScript: it stays on that path
  const unread = mode === 'w' ? () => true : moved?.unread;
  return makeEndpoint({
    readable: mode === 'w' ? undefined : (moved?.readable ?? socket),
    source: moved?.source,
    writable: mode === 'r' ? undefined : socket,
    description,
    // destroy() only closes tsocat's descriptor: the program keeps the connection, no FIN is sent
    handOver: fd === undefined ? undefined : { read: fd, write: fd, release: () => socket.destroy() },
    kernelFd:
      fd === undefined || unread === undefined
        ? undefined
        : () => (unread() && !socket.destroyed && !socket.writableEnded && socket.writableLength === 0 ? fd : undefined),
    // end() after the queued writes is shutdown(SHUT_WR): the peer sees EOF, we can still read
    shutdownWrite: () => {
      if (!socket.destroyed && !socket.writableEnded) socket.end();
    },
    close: async () => {
      if (socket.destroyed) return;
      // hand queued data to the kernel before the descriptor goes; the kernel still delivers it after close
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        if (socket.writableFinished) {
          socket.destroy();
          return;
        }
        socket.once('finish', () => socket.destroy());
        socket.end();
        setTimeout(() => socket.destroy(), 2000).unref();
      });
    },
  });
}
