/** SOCKET, IP and TCP options on a connected or listening Node socket. */
import type { Server, Socket } from 'node:net';
import type { ResolvedOptions } from '../../options/catalog.js';
import { parseCNumber } from '../../options/catalog.js';
import { TsocatError } from '../errors.js';
import { parseDalan } from './dalan.js';
import { applyFdOptions } from './fdopts.js';

/** libuv keeps the descriptor on the handle; Node exposes it there on Unix. */
export function descriptorOf(handleOwner: Socket | Server): number | undefined {
  const fd = (handleOwner as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** socat's generic socket options, <level>:<optname>:<value>, each with its way of reading the value. */
const RAW_SOCKOPTS: Array<[string, (value: string) => Buffer]> = [
  ['setsockopt', parseDalan],
  ['setsockopt-bin', parseDalan],
  ['setsockopt-int', (v) => parseDalan(`i${v}`)],
  ['setsockopt-string', (v) => Buffer.from(`${v}\0`, 'latin1')],
];

const NEEDS_SETSOCKOPT = ['so-rcvbuf', 'so-sndbuf', 'so-linger', 'keepidle', ...RAW_SOCKOPTS.map(([name]) => name)];

/** Splits `level:optname:value` (the value may hold colons of its own). */
export function rawSockoptValue(option: string, text: string, readValue: (v: string) => Buffer = parseDalan): { level: number; name: number; value: Buffer } {
  const m = /^([^:]+):([^:]+):(.*)$/s.exec(text);
  if (!m) throw new TsocatError(`option "${option}": expected <level>:<optname>:<value>, got "${text}"`, 'EOPTVALUE');
  return { level: parseCNumber(m[1] as string, option), name: parseCNumber(m[2] as string, option), value: readValue(m[3] as string) };
}

/** Sets one generic socket option on a descriptor, worded as socat's setsockopt() failure. */
export async function setRawSockopt(fd: number, option: string, text: string, readValue?: (v: string) => Buffer): Promise<void> {
  const { level, name, value } = rawSockoptValue(option, text, readValue);
  const sys = await import('../sys/libc.js');
  sys.setBufferSockopt(fd, level, name, value, `setsockopt(${fd}, ${level}, ${name}, {0x${value.toString('hex')}}, ${value.length})`);
}

/** Buffer sizes, linger and keepidle: plain setsockopt() calls on any socket descriptor. */
async function setPlainSockopts(fd: number, options: ResolvedOptions): Promise<void> {
  if (!NEEDS_SETSOCKOPT.some((n) => options.has(n))) return;
  const sys = await import('../sys/libc.js');
  const rcv = options.number('so-rcvbuf');
  if (rcv !== undefined) sys.setIntSockopt(fd, sys.SOL_SOCKET, sys.SO_RCVBUF, rcv);
  const snd = options.number('so-sndbuf');
  if (snd !== undefined) sys.setIntSockopt(fd, sys.SOL_SOCKET, sys.SO_SNDBUF, snd);
  const linger = options.number('so-linger');
  if (linger !== undefined) sys.setLinger(fd, linger);
  const idle = options.number('keepidle');
  if (idle !== undefined) sys.setIntSockopt(fd, sys.IPPROTO_TCP, sys.TCP_KEEPIDLE, idle);
}

/** Applies options to a socket once it is connected (or accepted). */
export async function applySocketOptions(socket: Socket, options: ResolvedOptions): Promise<void> {
  if (options.bool('so-keepalive')) socket.setKeepAlive(true, (options.number('keepidle') ?? 0) * 1000);
  if (options.has('tcp-nodelay')) socket.setNoDelay(options.bool('tcp-nodelay'));
  const fd = descriptorOf(socket);
  if (fd === undefined) return;
  await applyDescriptorSocketOptions(fd, options);
}

/** FD options and the SOCKET options set with setsockopt(), on a socket's descriptor (one Node made, or one made through the descriptor layer). */
export async function applyDescriptorSocketOptions(fd: number, options: ResolvedOptions): Promise<void> {
  // a socket is a descriptor too: owner, mode, locks, close-on-exec and status flags apply as to any other
  await applyFdOptions(fd, options);
  await setPlainSockopts(fd, options);
  if (options.bool('so-keepalive')) {
    const sys = await import('../sys/libc.js');
    sys.setIntSockopt(fd, sys.SOL_SOCKET, sys.SO_KEEPALIVE, 1);
  }
  for (const [option, readValue] of RAW_SOCKOPTS) {
    const text = options.string(option);
    if (text !== undefined) await setRawSockopt(fd, option, text, readValue);
  }
}

/** SOCKET options socat takes on FD:n but never applies there; it ends with an error rather than ignore them. */
const NOT_USED_ON_INHERITED = ['bind', 'so-reuseaddr', ...RAW_SOCKOPTS.map(([name]) => name)];

/**
 * SOCKET and TCP options on an inherited descriptor (FD:n), as socat handles
 * them: the setsockopt() ones are tried whatever the descriptor is (a pipe
 * fails with "Socket operation on non-socket"), the rest are refused.
 */
export async function applyInheritedSocketOptions(fd: number, options: ResolvedOptions): Promise<void> {
  if (options.has('connect-timeout')) throw new TsocatError('applyopts(): option "connect-timeout" does not apply', 'EOPTAPPLY');
  if (options.has('pf')) throw new TsocatError('applyopts(): option "protocol-family" not implemented', 'EOPTAPPLY');
  const onOff = (name: string) => (options.has(name) ? (options.bool(name) ? 1 : 0) : undefined);
  const keepalive = onOff('so-keepalive');
  const nodelay = onOff('tcp-nodelay');
  if (keepalive !== undefined || nodelay !== undefined) {
    const sys = await import('../sys/libc.js');
    if (keepalive !== undefined) sys.setIntSockopt(fd, sys.SOL_SOCKET, sys.SO_KEEPALIVE, keepalive);
    if (nodelay !== undefined) sys.setIntSockopt(fd, sys.IPPROTO_TCP, sys.TCP_NODELAY, nodelay);
  }
  await setPlainSockopts(fd, options);
  const unused = NOT_USED_ON_INHERITED.filter((name) => options.has(name)).length;
  if (unused > 0) throw new TsocatError(`${unused} option(s) could not be used`, 'EOPTUNUSED');
}
