/**
 * The few system calls Node lacks, through koffi (a maintained FFI package with
 * prebuilt binaries) instead of a native addon of our own. Loaded on first use,
 * so addresses that never need it never pay for it.
 */
import { closeSync, openSync } from 'node:fs';
import { TsocatError } from '../errors.js';
import { loadKoffi } from './builtins.js';


// Linux values (x86_64 and aarch64 agree on these)
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_LINGER = 13;
export const SO_REUSEPORT = 15;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const O_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;
export const TCP_KEEPIDLE = 4;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const F_DUPFD_CLOEXEC = 1030;
// the open file description's record lock (Linux 3.15), not the process's: a fork relay's sessions share
// one process, so a POSIX lock (F_SETLK) would not keep one session out of another's file, and closing
// any descriptor of the file would drop every session's lock; each of socat's children has its own
const F_OFD_SETLK = 37;
const F_WRLCK = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const FD_CLOEXEC = 1;
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const SEEK_SET = 0;
const EADDRINUSE = 98;

interface Libc {
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number;
  socket: (domain: number, type: number, protocol: number) => number;
  tcgetattr: (fd: number, termios: Buffer) => number;
  tcsetattr: (fd: number, when: number, termios: Buffer) => number;
  cfsetispeed: (termios: Buffer, speed: number) => number;
  cfsetospeed: (termios: Buffer, speed: number) => number;
  tcflush: (fd: number, queue: number) => number;
  bind: (fd: number, address: Buffer, len: number) => number;
  flock: (fd: number, op: number) => number;
  fcntlLock: (fd: number, cmd: number, lock: object) => number;
  mkfifo: (path: string, mode: number) => number;
  fcntlInt: (fd: number, cmd: number, arg: number) => number;
  setsid: () => number;
  chroot: (path: string) => number;
  pipe2: (fds: Buffer, flags: number) => number;
  ioctlPtr: (fd: number, request: number, arg: Buffer) => number;
  lseek: (fd: number, offset: number, whence: number) => number;
  getsockopt: (fd: number, level: number, name: number, value: Buffer, len: Buffer) => number;
  getsockname: (fd: number, address: Buffer, len: Buffer) => number;
  getpeername: (fd: number, address: Buffer, len: Buffer) => number;
  poll: (fds: Buffer, count: number, timeout: number) => number;
  errno: () => number;
  strerror: (errnum: number) => string;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const koffi = loadKoffi();
  const lib = koffi.load('libc.so.6');
  const flockStruct = koffi.struct('tsocat_flock', { l_type: 'short', l_whence: 'short', l_start: 'int64', l_len: 'int64', l_pid: 'int' });
  libc = {
    setsockopt: lib.func('int setsockopt(int, int, int, void *, uint32)'),
    socket: lib.func('int socket(int, int, int)'),
    tcgetattr: lib.func('int tcgetattr(int, void *)'),
    tcsetattr: lib.func('int tcsetattr(int, int, void *)'),
    cfsetispeed: lib.func('int cfsetispeed(void *, uint32)'),
    cfsetospeed: lib.func('int cfsetospeed(void *, uint32)'),
    tcflush: lib.func('int tcflush(int, int)'),
    bind: lib.func('int bind(int, void *, uint32)'),
    flock: lib.func('int flock(int, int)'),
    fcntlLock: lib.func('int fcntl(int, int, ...)') as unknown as Libc['fcntlLock'],
    mkfifo: lib.func('int mkfifo(const char *, uint32)'),
    fcntlInt: () => -1,
    setsid: lib.func('int setsid()'),
    chroot: lib.func('int chroot(const char *)'),
    pipe2: lib.func('int pipe2(void *, int)'),
    ioctlPtr: () => -1,
    lseek: lib.func('int64 lseek(int, int64, int)'),
    getsockopt: lib.func('int getsockopt(int, int, int, void *, void *)'),
    getsockname: lib.func('int getsockname(int, void *, void *)'),
    getpeername: lib.func('int getpeername(int, void *, void *)'),
    poll: lib.func('int poll(void *, unsigned long, int)'),
    errno: () => koffi.errno(),
    strerror: lib.func('const char *strerror(int)'),
  };
  // variadic fcntl needs the struct pointer type spelled at each call
  const fcntl = lib.func('int fcntl(int, int, ...)');
  libc.fcntlLock = (fd, cmd, lock) => fcntl(fd, cmd, koffi.pointer(flockStruct), lock) as number;
  libc.fcntlInt = (fd, cmd, arg) => fcntl(fd, cmd, 'int', arg) as number;
  const ioctl = lib.func('int ioctl(int, unsigned long, ...)');
  libc.ioctlPtr = (fd, request, arg) => ioctl(fd, request, 'void *', arg) as number;
  return libc;
}

function check(result: number, call: string): void {
  if (result < 0) {
    const l = load();
    throw new TsocatError(`${call}: ${l.strerror(l.errno())}`, 'ESYS');
  }
}

export function setIntSockopt(fd: number, level: number, name: number, value: number, call = 'setsockopt'): void {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value);
  check(load().setsockopt(fd, level, name, buf, 4), `${call}(${fd}, ${level}, ${name}, {${value}}, 4)`);
}

/** ioctl() with a pointer to an int (FIOSETOWN, SIOCSPGRP), worded as socat's failure. */
export function setIoctlInt(fd: number, request: number, value: number): void {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value);
  check(load().ioctlPtr(fd, request, buf), `ioctl(${fd}, 0x${request.toString(16)}, {${value}})`);
}

export function setLinger(fd: number, seconds: number): void {
  const buf = Buffer.alloc(8);
  buf.writeInt32LE(1, 0);
  buf.writeInt32LE(seconds, 4);
  check(load().setsockopt(fd, SOL_SOCKET, SO_LINGER, buf, 8), `setsockopt(${fd}, ${SOL_SOCKET}, ${SO_LINGER}, {1,${seconds}})`);
}

/** The whole-file locks of the FD options: flock(2) exclusive or shared, fcntl(2) write or read. */
export type LockKind = 'flock-ex' | 'flock-sh' | 'fcntl-wr' | 'fcntl-rd';

/** EAGAIN/EWOULDBLOCK (flock, fcntl) and EACCES (fcntl): another holder has the lock. */
const LOCK_BUSY = new Set([11, 13]);

/**
 * One non-blocking attempt at a whole-file lock (LOCK_NB, F_SETLK). With `waiting`, a
 * lock someone else holds answers false and the caller tries again later: the blocking
 * calls (flock without LOCK_NB, F_SETLKW) would stop the event loop, every session and
 * SIGTERM with it. Any other failure throws, naming the call socat makes.
 */
export function tryLock(fd: number, kind: LockKind, waiting: boolean): boolean {
  const l = load();
  const flock = kind === 'flock-ex' || kind === 'flock-sh';
  const result = flock
    ? l.flock(fd, (kind === 'flock-ex' ? LOCK_EX : LOCK_SH) | LOCK_NB)
    : l.fcntlLock(fd, F_OFD_SETLK, { l_type: kind === 'fcntl-wr' ? F_WRLCK : F_RDLCK, l_whence: SEEK_SET, l_start: 0, l_len: 0, l_pid: 0 });
  if (result >= 0) return true;
  const errno = l.errno();
  if (waiting && LOCK_BUSY.has(errno)) return false;
  const call = flock
    ? `flock(${fd}, ${kind === 'flock-ex' ? 'LOCK_EX' : 'LOCK_SH'}${waiting ? '' : '|LOCK_NB'})`
    : `fcntl(${fd}, ${waiting ? 'F_SETLKW' : 'F_SETLK'}, {type=${kind === 'fcntl-wr' ? 'F_WRLCK' : 'F_RDLCK'},whence=SEEK_SET,start=0,len=0})`;
  // ELOCKED: someone holds the lock (the next session of a relay may wait for its own previous one, src/engine/held.ts)
  throw new TsocatError(`${call}: ${l.strerror(errno)}`, LOCK_BUSY.has(errno) ? 'ELOCKED' : 'ESYS');
}

/**
 * What lets go of the flock(2) lock taken through `fd` at once: it unlocks and
 * closes a close-on-exec duplicate of `fd` (the same open file description),
 * as `fd` itself is closed by its streams later, or may be already.
 */
export function flockReleaser(fd: number): () => void {
  const l = load();
  const dup = duplicateDescriptor(fd);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    l.flock(dup, LOCK_UN);
    closeSync(dup);
  };
}

export function mkfifo(path: string, mode: number): void {
  check(load().mkfifo(path, mode), `mkfifo("${path}", 0${mode.toString(8)})`);
}

/** Adds status flags (O_APPEND, O_NONBLOCK, O_SYNC, O_NOATIME) to an open descriptor, as socat does for descriptors it did not open itself. */
export function addStatusFlags(fd: number, flags: number, names: string): void {
  const l = load();
  const current = l.fcntlInt(fd, F_GETFL, 0);
  check(current, `fcntl(${fd}, F_GETFL)`);
  check(l.fcntlInt(fd, F_SETFL, current | flags), `fcntl(${fd}, F_SETFL, ${names})`);
}

/** Turns O_NONBLOCK on or off on an open descriptor (one tsocat opened itself: the flag belongs to the open file description). */
export function setNonBlocking(fd: number, on: boolean): void {
  const l = load();
  const current = l.fcntlInt(fd, F_GETFL, 0);
  check(current, `fcntl(${fd}, F_GETFL)`);
  const flags = on ? current | O_NONBLOCK : current & ~O_NONBLOCK;
  check(l.fcntlInt(fd, F_SETFL, flags), `fcntl(${fd}, F_SETFL, ${on ? 'O_NONBLOCK' : '~O_NONBLOCK'})`);
}

export function setCloseOnExec(fd: number, on: boolean): void {
  check(load().fcntlInt(fd, F_SETFD, on ? FD_CLOEXEC : 0), `fcntl(${fd}, F_SETFD, ${on ? 'FD_CLOEXEC' : '0'})`);
}

/** Moves the descriptor's file offset to `offset` from the start (lseek SEEK_SET), as socat's seek option. */
export function seekTo(fd: number, offset: number): void {
  check(Number(load().lseek(fd, offset, SEEK_SET)), `lseek64(${fd}, ${offset}, SEEK_SET)`);
}

/** tsocat itself becomes a session leader (setsid on STDIO). */
export function newSession(): void {
  check(load().setsid(), 'setsid()');
}

/** tsocat itself changes its root directory (the chroot options); Node has no chroot(). */
export function changeRoot(dir: string): void {
  check(load().chroot(dir), `chroot("${dir}")`);
}

/** The kernel buffer size of a pipe (F_SETPIPE_SZ); fails on anything that is not a pipe. */
export function setPipeSize(fd: number, size: number): void {
  check(load().fcntlInt(fd, F_SETPIPE_SZ, size), `fcntl(${fd}, F_SETPIPE_SZ, ${size})`);
}

/** The kernel buffer size of a pipe (F_GETPIPE_SZ), e.g. to see what f-setpipe-sz did. */
export function getPipeSize(fd: number): number {
  const size = load().fcntlInt(fd, F_GETPIPE_SZ, 0);
  check(size, `fcntl(${fd}, F_GETPIPE_SZ)`);
  return size;
}

/** setsockopt() with a value already laid out as bytes (socat's setsockopt=…). */
export function setBufferSockopt(fd: number, level: number, name: number, value: Buffer, call: string): void {
  check(load().setsockopt(fd, level, name, value, value.length), call);
}

const FS_IOC_GETFLAGS = 0x80086601;
const FS_IOC_SETFLAGS = 0x40086602;

/** Sets and clears inode flags (chattr's +A, +i, …) with FS_IOC_GETFLAGS / FS_IOC_SETFLAGS. */
export function changeInodeFlags(fd: number, set: number, clear: number): void {
  const l = load();
  const flags = Buffer.alloc(8);
  check(l.ioctlPtr(fd, FS_IOC_GETFLAGS, flags), `ioctl(${fd}, FS_IOC_GETFLAGS, {})`);
  const value = (flags.readInt32LE(0) | set) & ~clear;
  flags.writeInt32LE(value, 0);
  check(l.ioctlPtr(fd, FS_IOC_SETFLAGS, flags), `ioctl(${fd}, FS_IOC_SETFLAGS, {0x${value.toString(16)}})`);
}

const O_CLOEXEC = 0o2000000;

/** A kernel pipe, [read end, write end], both close-on-exec (Node has no pipe(2)); non-blocking when asked. */
export function makePipe(nonBlocking = false): [number, number] {
  const fds = Buffer.alloc(8);
  check(load().pipe2(fds, O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0)), 'pipe2()');
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

/** A second descriptor for the same open file (fcntl F_DUPFD_CLOEXEC): its own number, so the event loop can watch it apart from the first. */
export function duplicateDescriptor(fd: number): number {
  const copy = load().fcntlInt(fd, F_DUPFD_CLOEXEC, 0);
  check(copy, `fcntl(${fd}, F_DUPFD_CLOEXEC)`);
  return copy;
}

export interface BindOptions {
  /** SO_REUSEADDR's value; undefined leaves the kernel default (off). */
  reuseAddr?: number;
  reusePort?: boolean;
  v6only?: boolean;
}

/**
 * A TCP socket bound to `sockaddr` with exactly the options asked for, ready
 * for Node's listen({ fd }) or connect({ fd }). libuv binds a TCP handle always
 * with SO_REUSEADDR and before any option can be set; SO_REUSEPORT only counts
 * when set before bind, and socat's reuseaddr=0 (or a client without reuseaddr)
 * needs bind() without SO_REUSEADDR. A port in use fails with code EADDRINUSE.
 */
export function boundTcpSocket(family: number, sockaddr: Buffer, described: string, opts: BindOptions): number {
  return preparedTcpSocket(
    family,
    (fd) => {
      if (opts.reuseAddr !== undefined) setIntSockopt(fd, SOL_SOCKET, SO_REUSEADDR, opts.reuseAddr);
      if (opts.reusePort) setIntSockopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
      if (opts.v6only !== undefined) setIntSockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, opts.v6only ? 1 : 0);
    },
    { sockaddr, described },
  );
}

/**
 * A non-blocking TCP socket of `family` on which `setup` has set its options
 * (socat's phases between socket() and bind()), bound to `bindTo` when given;
 * unbound, connect() picks the local address. Node takes it over with
 * connect({ fd }) or listen({ fd }). Closed again if anything fails.
 */
export function preparedTcpSocket(family: number, setup: (fd: number) => void, bindTo?: { sockaddr: Buffer; described: string }): number {
  const l = load();
  const fd = l.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  check(fd, `socket(${family}, ${SOCK_STREAM}, 0)`);
  try {
    setup(fd);
    if (bindTo && l.bind(fd, bindTo.sockaddr, bindTo.sockaddr.length) < 0) {
      const errno = l.errno();
      throw new TsocatError(`bind(${bindTo.described}): ${l.strerror(errno)}`, errno === EADDRINUSE ? 'EADDRINUSE' : 'ESYS');
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

const PAGE_SIZE = 4096;

/** A buffer whose memory starts on a page boundary, as O_DIRECT reads need. Its memory lives off V8's heap and never moves. */
export function pageAlignedBuffer(size: number): Buffer {
  const koffi = loadKoffi();
  const raw = Buffer.allocUnsafeSlow(size + PAGE_SIZE);
  const misalignment = Number(koffi.address(raw) % BigInt(PAGE_SIZE));
  const start = misalignment === 0 ? 0 : PAGE_SIZE - misalignment;
  return raw.subarray(start, start + size);
}

/** sizeof(struct termios) on Linux (glibc). */
const TERMIOS_SIZE = 60;
const TCSADRAIN = 1;

/** The terminal settings of `fd` as raw struct termios bytes; fails on anything that is not a terminal. */
export function getTermios(fd: number): Buffer {
  const termios = Buffer.alloc(TERMIOS_SIZE);
  check(load().tcgetattr(fd, termios), `tcgetattr(${fd})`);
  return termios;
}

const TCSANOW = 0;
const TIOCOUTQ = 0x5411;

/**
 * Writes terminal settings once pending output has drained (TCSADRAIN), as socat does,
 * when nothing is pending. Output nobody reads (a pty whose master is idle) would make
 * TCSADRAIN wait for ever on the main thread, and no signal could end it: then the
 * settings apply at once (TCSANOW).
 */
export function setTermios(fd: number, termios: Buffer): void {
  const queued = Buffer.alloc(4);
  const l = load();
  const waiting = l.ioctlPtr(fd, TIOCOUTQ, queued) === 0 && queued.readInt32LE(0) > 0;
  const when = waiting ? TCSANOW : TCSADRAIN;
  check(l.tcsetattr(fd, when, termios), `tcsetattr(${fd}, ${waiting ? 'TCSANOW' : 'TCSADRAIN'})`);
}

/** Sets the input, output or both line speeds in a struct termios (a B<rate> constant). */
export function setTermiosSpeed(termios: Buffer, which: 'in' | 'out' | 'both', speed: number): void {
  const l = load();
  if (which !== 'out') check(l.cfsetispeed(termios, speed), `cfsetispeed(${speed})`);
  if (which !== 'in') check(l.cfsetospeed(termios, speed), `cfsetospeed(${speed})`);
}

/** Drops what a terminal holds unread (0, TCIFLUSH), unsent (1, TCOFLUSH) or both (2). */
export function flushTerminal(fd: number, queue: 0 | 1 | 2 | number): void {
  check(load().tcflush(fd, queue), `tcflush(${fd}, ${queue})`);
}

const TIOCSWINSZ = 0x5414;

/** Sets a terminal's window size (struct winsize: rows, columns, then two unused pixel sizes). */
export function setWindowSize(fd: number, cols: number, rows: number): void {
  const winsize = Buffer.alloc(8);
  winsize.writeUInt16LE(rows, 0);
  winsize.writeUInt16LE(cols, 2);
  check(load().ioctlPtr(fd, TIOCSWINSZ, winsize), `ioctl(${fd}, TIOCSWINSZ, { ${cols},${rows} })`);
}

/**
 * Read-only questions about a descriptor, for the -D descriptor analysis.
 * Each answers undefined where the call fails (a descriptor of the wrong
 * kind), since an analysis reports what it can and never stops tsocat.
 */
export const inspect = {
  /** fcntl(F_GETFD/F_GETFL/F_GETOWN/F_GETSIG/F_GETPIPE_SZ, …) */
  fcntl(fd: number, cmd: number): number | undefined {
    const r = load().fcntlInt(fd, cmd, 0);
    return r < 0 ? undefined : r;
  },
  /** getsockopt() of an int-sized or two-int-sized value. */
  sockopt(fd: number, level: number, name: number): number[] | undefined {
    const value = Buffer.alloc(256);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(value.length);
    if (load().getsockopt(fd, level, name, value, len) < 0) return undefined;
    const n = len.readUInt32LE();
    return n <= 4 ? [value.readInt32LE(0)] : [value.readInt32LE(0), value.readInt32LE(4)];
  },
  /** getsockname() / getpeername() as raw sockaddr bytes. */
  sockaddr(fd: number, which: 'local' | 'peer'): Buffer | undefined {
    const address = Buffer.alloc(128);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(address.length);
    const l = load();
    if ((which === 'local' ? l.getsockname : l.getpeername)(fd, address, len) < 0) return undefined;
    return address.subarray(0, Math.min(len.readUInt32LE(), address.length));
  },
  /** poll() with no wait: the revents bits of the events asked for. */
  poll(fd: number, events: number): number | undefined {
    const pollfd = Buffer.alloc(8);
    pollfd.writeInt32LE(fd, 0);
    pollfd.writeInt16LE(events, 4);
    if (load().poll(pollfd, 1, 0) < 0) return undefined;
    return pollfd.readUInt16LE(6);
  },
  /** ioctl(FIONREAD): bytes waiting to be read. */
  bytesReadable(fd: number): number | undefined {
    const count = Buffer.alloc(8);
    const FIONREAD = 0x541b;
    if (load().ioctlPtr(fd, FIONREAD, count) < 0) return undefined;
    return count.readInt32LE(0);
  },
};

const LOCK_SH = 1;
const F_RDLCK = 0;


/** lseek(fd, offset, whence) with whence 0 (SET), 1 (CUR) or 2 (END), worded as socat's lseek64 failure. */
export function seekFrom(fd: number, offset: number, whence: 0 | 1 | 2): void {
  check(Number(load().lseek(fd, offset, whence)), `lseek64(${fd}, ${offset}, ${whence})`);
}

let ioctlVariadic: ((...args: unknown[]) => number) | undefined;

/** ioctl(fd, request, arg) where arg is nothing (NULL), an int passed by value, or a pointer to bytes (socat's ioctl-* options). */
export function genericIoctl(fd: number, request: number, arg: null | number | Buffer, described: string): void {
  load();
  if (!ioctlVariadic) {
    const koffi = loadKoffi();
    ioctlVariadic = koffi.load('libc.so.6').func('int ioctl(int, unsigned long, ...)') as (...args: unknown[]) => number;
  }
  const result = typeof arg === 'number' ? ioctlVariadic(fd, request, 'int', arg) : ioctlVariadic(fd, request, 'void *', arg);
  check(result, described);
}

let mallocTrim: ((pad: number) => number) | null | undefined;

/**
 * glibc's malloc_trim(0): hands the allocator's free pages back to the kernel
 * (free memory inside its arenas too, not only at the top of the heap, which
 * is all glibc gives back by itself). Does nothing where libc has no
 * malloc_trim (musl).
 */
export function trimMalloc(): void {
  if (mallocTrim === undefined) {
    try {
      const koffi = loadKoffi();
      mallocTrim = koffi.load('libc.so.6').func('int malloc_trim(size_t)') as (pad: number) => number;
    } catch {
      mallocTrim = null;
    }
  }
  mallocTrim?.(0);
}

/** IOCTL_VM_SOCKETS_GET_LOCAL_CID, on /dev/vsock. */
const VM_SOCKETS_GET_LOCAL_CID = 0x7b9;

/** This machine's vsock context id, or undefined where it has none (no /dev/vsock). */
export function localVsockCid(): number | undefined {
  let fd: number;
  try {
    fd = openSync('/dev/vsock', 'r');
  } catch {
    return undefined;
  }
  try {
    const cid = Buffer.alloc(4);
    return load().ioctlPtr(fd, VM_SOCKETS_GET_LOCAL_CID, cid) === 0 ? cid.readUInt32LE(0) : undefined;
  } finally {
    closeSync(fd);
  }
}
