/** SOCKET, IP and TCP options on a connected or listening Node socket. */
import type { Server, Socket } from 'node:net';
import type { ResolvedOptions } from '../../options/catalog.js';
import { parseCTyped } from '../../options/catalog.js';
import { TsocatError } from '../errors.js';
import { parseDalan } from './dalan.js';
import { applyFdOptions } from './fdopts.js';
import { applyIpSockopts } from './ip-sockopts.js';

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

/** Splits `level:optname:value` (the value may hold colons of its own). */
export function rawSockoptValue(option: string, text: string, readValue: (v: string) => Buffer = parseDalan): { level: number; name: number; value: Buffer } {
  const m = /^([^:]+):([^:]+):(.*)$/s.exec(text);
  if (!m) throw new TsocatError(`option "${option}": expected <level>:<optname>:<value>, got "${text}"`, 'EOPTVALUE');
  return { level: parseCTyped(m[1] as string, option, 'int'), name: parseCTyped(m[2] as string, option, 'int'), value: readValue(m[3] as string) };
}

/** Sets one generic socket option on a descriptor, worded as socat's setsockopt() failure. */
export async function setRawSockopt(fd: number, option: string, text: string, readValue?: (v: string) => Buffer): Promise<void> {
  const { level, name, value } = rawSockoptValue(option, text, readValue);
  const sys = await import('../sys/libc.js');
  sys.setBufferSockopt(fd, level, name, value, `setsockopt(${fd}, ${level}, ${name}, {0x${value.toString('hex')}}, ${value.length})`);
}

/**
 * The one-setsockopt() options (buffer sizes, linger, TCP timers, priority,
 * device, …: src/engine/socket-phases.ts) on a socket made without a chance
 * to set them earlier: all of them now, in socat's order of phases. The
 * pre-bind ones are left to the addresses that bind (they mean nothing later).
 */
async function setPlainSockopts(fd: number, options: ResolvedOptions): Promise<void> {
  const phases = await import('./socket-phases.js');
  if (!phases.PHASED_OPTIONS.some((name) => options.has(name))) return;
  for (const phase of ['pastsocket', 'connected', 'late'] as const) phases.applySockoptPhase(fd, options, phase);
}

/** Applies options to a socket once it is connected (or accepted). */
export async function applySocketOptions(socket: Socket, options: ResolvedOptions): Promise<void> {
  if (options.bool('so-keepalive')) socket.setKeepAlive(true, (options.number('keepidle') ?? 0) * 1000);
  if (options.has('tcp-nodelay')) socket.setNoDelay(options.bool('tcp-nodelay'));
  const fd = descriptorOf(socket);
  if (fd === undefined) return;
  await applyDescriptorSocketOptions(fd, options);
}

/** The options a socket descriptor takes whatever made it (TCP through Node, UDP through libc): FD options, buffers, IP options, raw setsockopt. */
export async function applyDescriptorSocketOptions(fd: number, options: ResolvedOptions): Promise<void> {
  // a socket is a descriptor too: owner, mode, locks, close-on-exec and status flags apply as to any other
  await applyFdOptions(fd, options);
  await setPlainSockopts(fd, options);
  await applyIpSockopts(fd, options);
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
const NOT_USED_ON_INHERITED = ['bind', 'so-reuseaddr', 'so-type', 'so-protocol', ...RAW_SOCKOPTS.map(([name]) => name)];

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

/**
 * Buffer sizes, linger and the setsockopt* options on a socket tsocat made
 * itself (src/sys/sockets.ts), where they can be set right after socket(),
 * before bind and connect.
 */
export async function applyDescriptorSockopts(fd: number, options: ResolvedOptions): Promise<void> {
  await setPlainSockopts(fd, options);
  await applyIpSockopts(fd, options);
  for (const [option, readValue] of RAW_SOCKOPTS) {
    const text = options.string(option);
    if (text !== undefined) await setRawSockopt(fd, option, text, readValue);
  }
}

/**
 * so-type and so-protocol choose socket()'s parameters; Node makes the TCP
 * sockets itself and takes neither, so tsocat refuses them there rather than
 * make a TCP socket anyway. (The generic SOCKET-* addresses take them.)
 */
export function refuseSocketChoice(options: ResolvedOptions, keyword: string): void {
  const given = ['so-type', 'so-protocol'].find((name) => options.has(name));
  if (given) throw new TsocatError(`option "${given}" is not supported with ${keyword} (use SOCKET-CONNECT or SOCKET-LISTEN to choose the socket type and protocol)`, 'EOPTGROUP');
}
