/**
 * Socket options at socat's phases. socat makes a socket, sets the
 * "past socket" options (buffer sizes, TCP_MAXSEG, SO_BINDTODEVICE,
 * SO_PRIORITY, …), then the "pre-bind" ones (SO_REUSEADDR, SO_REUSEPORT,
 * IPV6_V6ONLY, IP_TRANSPARENT, setsockopt-listen), binds, connects or
 * listens, and only then sets the "connected" ones (setsockopt and its
 * kin, tcp-maxseg-late) and the "late" ones. Node makes and connects a TCP
 * socket in one step, so where any early option is given tsocat makes the
 * socket itself (src/sys/libc.ts preparedTcpSocket) and hands it to Node.
 *
 * Each row is one setsockopt(); the option's value is laid out as socat
 * passes it, and a failure is worded as socat words it.
 */
import { parseCTyped, type ResolvedOptions } from '../../../options/catalog.js';
import { TsocatError } from '../../errors.js';
import { setBufferSockopt, setIntSockopt, setIoctlInt, setLinger } from '../../sys/libc.js';
import { parseDalan } from '../descriptors/dalan.js';

/** socat's phases for these options: after socket(), before bind(), once connected, late. */
export type SockoptPhase = 'pastsocket' | 'prebind' | 'connected' | 'late';

/** owner: not a setsockopt() but socat's ioctl() with an int (FIOSETOWN, SIOCSPGRP), at the same phase. */
type Layout = 'int' | 'bool' | 'name' | 'linger' | 'bytes' | 'timeval' | 'owner';

interface Row {
  option: string;
  level: number;
  name: number;
  phase: SockoptPhase;
  layout: Layout;
}

const SOL_SOCKET = 1;
const SOL_IP = 0;
const SOL_TCP = 6;
const SOL_IPV6 = 41;

/** Linux's numbers (asm-generic/socket.h, linux/in.h, linux/tcp.h, linux/in6.h). */
const ROWS: readonly Row[] = [
  { option: 'so-debug', level: SOL_SOCKET, name: 1, phase: 'pastsocket', layout: 'int' },
  { option: 'so-dontroute', level: SOL_SOCKET, name: 5, phase: 'pastsocket', layout: 'int' },
  { option: 'so-sndbuf', level: SOL_SOCKET, name: 7, phase: 'pastsocket', layout: 'int' },
  { option: 'so-rcvbuf', level: SOL_SOCKET, name: 8, phase: 'pastsocket', layout: 'int' },
  { option: 'so-oobinline', level: SOL_SOCKET, name: 10, phase: 'pastsocket', layout: 'int' },
  { option: 'so-no-check', level: SOL_SOCKET, name: 11, phase: 'pastsocket', layout: 'int' },
  { option: 'so-priority', level: SOL_SOCKET, name: 12, phase: 'pastsocket', layout: 'int' },
  { option: 'so-linger', level: SOL_SOCKET, name: 13, phase: 'pastsocket', layout: 'linger' },
  { option: 'so-rcvlowat', level: SOL_SOCKET, name: 18, phase: 'pastsocket', layout: 'int' },
  { option: 'so-sndlowat', level: SOL_SOCKET, name: 19, phase: 'pastsocket', layout: 'int' },
  { option: 'so-rcvtimeo', level: SOL_SOCKET, name: 20, phase: 'pastsocket', layout: 'timeval' },
  { option: 'so-sndtimeo', level: SOL_SOCKET, name: 21, phase: 'pastsocket', layout: 'timeval' },
  { option: 'so-bindtodevice', level: SOL_SOCKET, name: 25, phase: 'pastsocket', layout: 'name' },
  { option: 'so-mark', level: SOL_SOCKET, name: 36, phase: 'pastsocket', layout: 'int' },
  // ioctl requests (linux/sockios.h), level unused
  { option: 'fiosetown', level: 0, name: 0x8901, phase: 'pastsocket', layout: 'owner' },
  { option: 'siocspgrp', level: 0, name: 0x8902, phase: 'pastsocket', layout: 'owner' },
  { option: 'ip-options', level: SOL_IP, name: 4, phase: 'pastsocket', layout: 'bytes' },
  { option: 'ip-hdrincl', level: SOL_IP, name: 3, phase: 'pastsocket', layout: 'int' },
  { option: 'ip-freebind', level: SOL_IP, name: 15, phase: 'pastsocket', layout: 'int' },
  { option: 'tcp-maxseg', level: SOL_TCP, name: 2, phase: 'pastsocket', layout: 'int' },
  { option: 'tcp-cork', level: SOL_TCP, name: 3, phase: 'pastsocket', layout: 'int' },
  { option: 'keepidle', level: SOL_TCP, name: 4, phase: 'pastsocket', layout: 'int' },
  { option: 'tcp-keepintvl', level: SOL_TCP, name: 5, phase: 'pastsocket', layout: 'int' },
  { option: 'tcp-keepcnt', level: SOL_TCP, name: 6, phase: 'pastsocket', layout: 'int' },
  { option: 'tcp-syncnt', level: SOL_TCP, name: 7, phase: 'pastsocket', layout: 'int' },
  { option: 'tcp-linger2', level: SOL_TCP, name: 8, phase: 'pastsocket', layout: 'int' },
  { option: 'tcp-defer-accept', level: SOL_TCP, name: 9, phase: 'pastsocket', layout: 'int' },
  { option: 'tcp-window-clamp', level: SOL_TCP, name: 10, phase: 'pastsocket', layout: 'int' },
  { option: 'tcp-quickack', level: SOL_TCP, name: 12, phase: 'pastsocket', layout: 'int' },
  { option: 'tcp-user-timeout', level: SOL_TCP, name: 18, phase: 'pastsocket', layout: 'int' },
  { option: 'so-reuseaddr', level: SOL_SOCKET, name: 2, phase: 'prebind', layout: 'bool' },
  { option: 'so-reuseport', level: SOL_SOCKET, name: 15, phase: 'prebind', layout: 'bool' },
  { option: 'ipv6-v6only', level: SOL_IPV6, name: 26, phase: 'prebind', layout: 'bool' },
  { option: 'ip-transparent', level: SOL_IP, name: 19, phase: 'prebind', layout: 'bool' },
  { option: 'tcp-maxseg-late', level: SOL_TCP, name: 2, phase: 'connected', layout: 'int' },
  { option: 'so-sndbuf-late', level: SOL_SOCKET, name: 7, phase: 'late', layout: 'int' },
  { option: 'so-rcvbuf-late', level: SOL_SOCKET, name: 8, phase: 'late', layout: 'int' },
];

/** The generic setsockopt options and their phases (socat 1.8: setsockopt-socket after socket(), setsockopt-listen before bind()). */
const GENERIC: ReadonlyArray<{ option: string; phase: SockoptPhase; readValue: (v: string) => Buffer }> = [
  { option: 'setsockopt-socket', phase: 'pastsocket', readValue: parseDalan },
  { option: 'setsockopt-listen', phase: 'prebind', readValue: parseDalan },
  { option: 'setsockopt-connected', phase: 'connected', readValue: parseDalan },
];

/** Options that must be set before connect() or listen(): a TCP address that has any makes its socket itself. */
export const EARLY_OPTIONS: readonly string[] = [
  ...ROWS.filter((r) => r.phase === 'pastsocket' || r.phase === 'prebind').map((r) => r.option),
  ...GENERIC.filter((g) => g.phase !== 'connected').map((g) => g.option),
];

/** Options set between socket() and bind(): nothing to do on a socket that is bound already. */
export const PREBIND_OPTIONS: readonly string[] = [...ROWS.filter((r) => r.phase === 'prebind').map((r) => r.option), ...GENERIC.filter((g) => g.phase === 'prebind').map((g) => g.option)];

/** Every option this module sets, in any phase. */
export const PHASED_OPTIONS: readonly string[] = [...ROWS.map((r) => r.option), ...GENERIC.map((g) => g.option)];

function setRow(fd: number, row: Row, options: ResolvedOptions): void {
  const call = `setsockopt(${fd}, ${row.level}, ${row.name}`;
  if (row.layout === 'linger') {
    setLinger(fd, options.number(row.option) ?? 0);
  } else if (row.layout === 'name') {
    // an interface name, passed with its trailing NUL as socat passes it
    const name = options.string(row.option) ?? '';
    const value = Buffer.from(`${name}\0`, 'latin1');
    setBufferSockopt(fd, row.level, row.name, value, `${call}, "${name}", ${value.length})`);
  } else if (row.layout === 'timeval') {
    // struct timeval: seconds and microseconds, two longs
    const seconds = options.number(row.option) ?? 0;
    const whole = Math.floor(seconds);
    const micros = Math.round((seconds - whole) * 1e6);
    const value = Buffer.alloc(16);
    value.writeBigInt64LE(BigInt(whole), 0);
    value.writeBigInt64LE(BigInt(micros), 8);
    setBufferSockopt(fd, row.level, row.name, value, `${call}, {${whole},${micros}}, ${value.length})`);
  } else if (row.layout === 'owner') {
    setIoctlInt(fd, row.name, options.number(row.option) ?? 0);
  } else if (row.layout === 'bytes') {
    const value = parseDalan(options.string(row.option) ?? '');
    setBufferSockopt(fd, row.level, row.name, value, `${call}, {0x${value.toString('hex')}}, ${value.length})`);
  } else {
    // `| 0`: an unsigned value (so-mark up to 0xffffffff) goes into setsockopt()'s int as the same four bytes, as in C
    setIntSockopt(fd, row.level, row.name, row.layout === 'bool' ? (options.bool(row.option) ? 1 : 0) : (options.number(row.option) ?? 0) | 0);
  }
}

/**
 * Sets the options of one phase that `options` holds. An option the socket's
 * family lacks (ipv6-v6only on IPv4) fails as the kernel says, as in socat.
 */
export function applySockoptPhase(fd: number, options: ResolvedOptions, phase: SockoptPhase): void {
  for (const row of ROWS) if (row.phase === phase && options.has(row.option)) setRow(fd, row, options);
  for (const generic of GENERIC) {
    const text = options.string(generic.option);
    if (generic.phase !== phase || text === undefined) continue;
    const { level, name, value } = rawSockoptValue(generic.option, text, generic.readValue);
    setBufferSockopt(fd, level, name, value, `setsockopt(${fd}, ${level}, ${name}, {0x${value.toString('hex')}}, ${value.length})`);
  }
}

/** Splits `level:optname:value` (the value may hold colons of its own). */
export function rawSockoptValue(option: string, text: string, readValue: (v: string) => Buffer = parseDalan): { level: number; name: number; value: Buffer } {
  const m = /^([^:]+):([^:]+):(.*)$/s.exec(text);
  if (!m) throw new TsocatError(`option "${option}": expected <level>:<optname>:<value>, got "${text}"`, 'EOPTVALUE');
  return { level: parseCTyped(m[1] as string, option, 'int'), name: parseCTyped(m[2] as string, option, 'int'), value: readValue(m[3] as string) };
}

/** Whether the options ask for anything that has to be set before connect() or listen(). */
export function needsEarlyOptions(options: ResolvedOptions): boolean {
  return EARLY_OPTIONS.some((name) => options.has(name));
}
