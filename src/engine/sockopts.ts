/** SOCKET, IP and TCP options on a connected or listening Node socket. */
import type { Server, Socket } from 'node:net';
import type { ResolvedOptions } from '../../options/catalog.js';
import { applyFdOptions } from './fdopts.js';

/** libuv keeps the descriptor on the handle; Node exposes it there on Unix. */
export function descriptorOf(handleOwner: Socket | Server): number | undefined {
  const fd = (handleOwner as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

const NEEDS_SETSOCKOPT = ['so-rcvbuf', 'so-sndbuf', 'so-linger', 'keepidle'];

/** Applies options to a socket once it is connected (or accepted). */
export async function applySocketOptions(socket: Socket, options: ResolvedOptions): Promise<void> {
  if (options.bool('so-keepalive')) socket.setKeepAlive(true, (options.number('keepidle') ?? 0) * 1000);
  if (options.has('tcp-nodelay')) socket.setNoDelay(options.bool('tcp-nodelay'));
  const fd = descriptorOf(socket);
  if (fd === undefined) return;
  // a socket is a descriptor too: owner, mode, locks, close-on-exec and status flags apply as to any other
  await applyFdOptions(fd, options);
  if (!NEEDS_SETSOCKOPT.some((n) => options.has(n))) return;
  const sys = await import('../sys/libc.js');
  const rcv = options.number('so-rcvbuf');
  if (rcv !== undefined) sys.setIntSockopt(fd, sys.SOL_SOCKET, sys.SO_RCVBUF, rcv, `setsockopt(${fd}, SOL_SOCKET, SO_RCVBUF, ${rcv})`);
  const snd = options.number('so-sndbuf');
  if (snd !== undefined) sys.setIntSockopt(fd, sys.SOL_SOCKET, sys.SO_SNDBUF, snd, `setsockopt(${fd}, SOL_SOCKET, SO_SNDBUF, ${snd})`);
  const linger = options.number('so-linger');
  if (linger !== undefined) sys.setLinger(fd, linger);
  const idle = options.number('keepidle');
  if (idle !== undefined) sys.setIntSockopt(fd, sys.IPPROTO_TCP, sys.TCP_KEEPIDLE, idle);
}
