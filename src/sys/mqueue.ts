/**
 * POSIX message queue calls (mq_open and friends), which Node lacks, through
 * koffi like the rest of src/sys. glibc 2.34 and later keep them in libc
 * itself; older ones in librt, tried second. On Linux a queue descriptor is a
 * file descriptor, so the event loop can watch it (src/sys/poll.ts).
 * Loaded on first use: only the POSIXMQ addresses need it.
 */
import { loadKoffi } from './builtins.js';


export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const EAGAIN = 11;
const ENOENT = 2;

/** struct mq_attr: four longs, then four longs of padding (64 bytes on 64-bit Linux). */
export interface QueueAttributes {
  flags: number;
  maxmsg: number;
  msgsize: number;
  curmsgs: number;
}

interface MqCalls {
  open: (name: string, oflag: number, ...rest: unknown[]) => number;
  getattr: (mqd: number, attr: Buffer) => number;
  receive: (mqd: number, buf: Buffer, len: number, prio: Buffer) => number;
  send: (mqd: number, buf: Buffer, len: number, prio: number) => number;
  close: (mqd: number) => number;
  unlink: (name: string) => number;
  errno: () => number;
  strerror: (errnum: number) => string;
}

let calls: MqCalls | undefined;

function load(): MqCalls {
  if (calls) return calls;
  const koffi = loadKoffi();
  let lib = koffi.load('libc.so.6');
  try {
    lib.func('int mq_unlink(const char *)');
  } catch {
    lib = koffi.load('librt.so.1');
  }
  calls = {
    open: lib.func('int mq_open(const char *, int, ...)') as MqCalls['open'],
    getattr: lib.func('int mq_getattr(int, void *)'),
    receive: lib.func('int64 mq_receive(int, void *, size_t, void *)'),
    send: lib.func('int mq_send(int, void *, size_t, uint32)'),
    close: lib.func('int mq_close(int)'),
    unlink: lib.func('int mq_unlink(const char *)'),
    errno: () => koffi.errno(),
    strerror: lib.func('const char *strerror(int)'),
  };
  return calls;
}

/** A failed call: its errno and the C library's text for it, as socat prints it. */
export class QueueError extends Error {
  constructor(
    readonly errno: number,
    text: string,
  ) {
    super(text);
  }
  get missing(): boolean {
    return this.errno === ENOENT;
  }
}

function failure(): QueueError {
  const c = load();
  const errno = c.errno();
  return new QueueError(errno, c.strerror(errno));
}

function attrBuffer(a?: Partial<QueueAttributes>): Buffer {
  const buf = Buffer.alloc(64);
  if (a) {
    buf.writeBigInt64LE(BigInt(a.flags ?? 0), 0);
    buf.writeBigInt64LE(BigInt(a.maxmsg ?? 0), 8);
    buf.writeBigInt64LE(BigInt(a.msgsize ?? 0), 16);
  }
  return buf;
}

/** mq_open(); attributes only with O_CREAT (the kernel's defaults otherwise). Throws QueueError. */
export function mqOpen(name: string, oflag: number, mode: number, attr?: Partial<QueueAttributes>): number {
  const c = load();
  const mqd = c.open(name, oflag, 'uint32', mode, 'void *', attr ? attrBuffer(attr) : null);
  if (mqd < 0) throw failure();
  return mqd;
}

export function mqGetattr(mqd: number): QueueAttributes {
  const buf = attrBuffer();
  if (load().getattr(mqd, buf) < 0) throw failure();
  return {
    flags: Number(buf.readBigInt64LE(0)),
    maxmsg: Number(buf.readBigInt64LE(8)),
    msgsize: Number(buf.readBigInt64LE(16)),
    curmsgs: Number(buf.readBigInt64LE(24)),
  };
}

/** One message into `buf` (at least the queue's msgsize long); undefined when none is waiting (EAGAIN on a non-blocking queue). */
export function mqReceive(mqd: number, buf: Buffer): { length: number; priority: number } | undefined {
  const prio = Buffer.alloc(4);
  const n = load().receive(mqd, buf, buf.length, prio);
  if (n < 0) {
    const err = failure();
    if (err.errno === EAGAIN) return undefined;
    throw err;
  }
  return { length: Number(n), priority: prio.readUInt32LE(0) };
}

/** One message; false when the queue is full (EAGAIN on a non-blocking queue). */
export function mqSend(mqd: number, data: Buffer, priority: number): boolean {
  if (load().send(mqd, data, data.length, priority) === 0) return true;
  const err = failure();
  if (err.errno === EAGAIN) return false;
  throw err;
}

export function mqClose(mqd: number): void {
  if (load().close(mqd) < 0) throw failure();
}

export function mqUnlink(name: string): void {
  if (load().unlink(name) < 0) throw failure();
}
