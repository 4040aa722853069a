/**
 * Socket system calls for the descriptors Node has no handle for (datagram
 * and seqpacket UNIX sockets, socket pairs, raw IP, generic SOCKET-*),
 * through koffi. Every descriptor is made non-blocking and close-on-exec;
 * "would block" comes back as `undefined`, the event loop (poll.ts) says when
 * to try again. Failures throw a SocketCallError with errno's name as code
 * and socat's "call(args): strerror" as message.
 */
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { TsocatError } from '../errors.js';
import { loadKoffi } from './builtins.js';


export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_SEQPACKET = 5;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const SO_TYPE = 3;
export const MSG_TRUNC = 0x20;
const MSG_ERRQUEUE = 0x2000;
export const MSG_CTRUNC = 0x08;
const MSG_PEEK = 0x02;
const MSG_NOSIGNAL = 0x4000;

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));
// Node's table lacks it; Linux's number (a kernel without DCCP answers socket() with it)
errnoNames.set(94, 'ESOCKTNOSUPPORT');

/** A socket call that failed; `code` is errno's name (ECONNREFUSED…). */
export class SocketCallError extends TsocatError {
  constructor(
    call: string,
    errno: number,
    /** strerror()'s words alone, for a message that names the address instead of the call. */
    readonly reason: string,
  ) {
    super(`${call}: ${reason}`, errnoNames.get(errno) ?? 'ESYS');
  }
}

interface Calls {
  koffi: typeof import('koffi');
  socket: (domain: number, type: number, protocol: number) => number;
  socketpair: (domain: number, type: number, protocol: number, sv: number[]) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  connect: (fd: number, addr: Buffer, len: number) => number;
  listen: (fd: number, backlog: number) => number;
  accept4: (fd: number, addr: Buffer, len: Buffer, flags: number) => number;
  recvmsg: (fd: number, msg: MsgHdr, flags: number) => number | bigint;
  sendto: (fd: number, data: Buffer, len: number, flags: number, addr: Buffer | null, addrlen: number) => number | bigint;
  shutdown: (fd: number, how: number) => number;
  splice: (fdIn: number, offIn: null, fdOut: number, offOut: null, len: number, flags: number) => number | bigint;
  recvmmsg: (fd: number, vec: bigint, count: number, flags: number, timeout: null) => number;
  sendmmsg: (fd: number, vec: bigint, count: number, flags: number) => number;
  getsockopt: (fd: number, level: number, name: number, value: Buffer, len: Buffer) => number;
  getsockname: (fd: number, addr: Buffer, len: Buffer) => number;
  getpeername: (fd: number, addr: Buffer, len: Buffer) => number;
  strerror: (errnum: number) => string;
  if_nametoindex: (name: string) => number;
}

interface MsgHdr {
  name: Buffer | null;
  namelen: number;
  iov: Array<{ base: Buffer; len: number }>;
  iovlen: number;
  control: Buffer | null;
  controllen: number;
  flags: number;
}

let calls: Calls | undefined;

function load(): Calls {
  if (calls) return calls;
  const koffi = loadKoffi();
  const lib = koffi.load('libc.so.6');
  koffi.struct('tsocat_iovec', { base: 'void *', len: 'size_t' });
  koffi.struct('tsocat_msghdr', { name: 'void *', namelen: 'uint32', iov: 'tsocat_iovec *', iovlen: 'size_t', control: 'void *', controllen: 'size_t', flags: 'int' });
  calls = {
    koffi,
    socket: lib.func('int socket(int, int, int)'),
    socketpair: lib.func('int socketpair(int, int, int, _Out_ int *sv)'),
    bind: lib.func('int bind(int, void *, uint32)'),
    connect: lib.func('int connect(int, void *, uint32)'),
    listen: lib.func('int listen(int, int)'),
    accept4: lib.func('int accept4(int, void *, void *, int)'),
    recvmsg: lib.func('long recvmsg(int, _Inout_ tsocat_msghdr *msg, int)'),
    sendto: lib.func('long sendto(int, void *, size_t, int, void *, uint32)'),
    shutdown: lib.func('int shutdown(int, int)'),
    splice: lib.func('long splice(int, void *, int, void *, size_t, unsigned int)'),
    recvmmsg: lib.func('int recvmmsg(int, void *, unsigned int, int, void *)'),
    sendmmsg: lib.func('int sendmmsg(int, void *, unsigned int, int)'),
    getsockopt: lib.func('int getsockopt(int, int, int, void *, void *)'),
    getsockname: lib.func('int getsockname(int, void *, void *)'),
    getpeername: lib.func('int getpeername(int, void *, void *)'),
    strerror: lib.func('const char *strerror(int)'),
    if_nametoindex: lib.func('unsigned int if_nametoindex(const char *)'),
  };
  return calls;
}

function errno(): number {
  return load().koffi.errno();
}

function fail(call: string, err = errno()): never {
  throw new SocketCallError(call, err, load().strerror(err));
}

const wouldBlock = (err: number) => err === constants.errno.EAGAIN || err === constants.errno.EWOULDBLOCK;

const typeNames: Record<number, string> = { [SOCK_STREAM]: 'SOCK_STREAM', [SOCK_DGRAM]: 'SOCK_DGRAM', [SOCK_RAW]: 'SOCK_RAW', [SOCK_SEQPACKET]: 'SOCK_SEQPACKET' };
const typeName = (type: number) => typeNames[type] ?? String(type);

/** socket(2), non-blocking and close-on-exec. */
export function openSocket(domain: number, type: number, protocol: number): number {
  const fd = load().socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  // numbers, as socat writes the call
  if (fd < 0) fail(`socket(${domain}, ${type}, ${protocol})`);
  return fd;
}

/** socketpair(2), both ends non-blocking and close-on-exec. */
export function openSocketPair(domain: number, type: number, protocol: number): [number, number] {
  const sv = [0, 0];
  if (load().socketpair(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol, sv) < 0) fail(`socketpair(${domain}, ${typeName(type)}, ${protocol})`);
  return [sv[0] as number, sv[1] as number];
}

export function bindSocket(fd: number, addr: Buffer, described: string): void {
  if (load().bind(fd, addr, addr.length) < 0) fail(`bind(${fd}, {${described}}, ${addr.length})`);
}

/** connect(2): true when connected, false when it goes on in the background (wait until writable, then connectResult). */
export function connectSocket(fd: number, addr: Buffer, described: string): boolean {
  if (load().connect(fd, addr, addr.length) === 0) return true;
  const err = errno();
  if (err === constants.errno.EINPROGRESS || wouldBlock(err)) return false;
  fail(`connect(${fd}, ${described}, ${addr.length})`, err);
}

/** The outcome of a background connect, once the socket is writable. */
export function connectResult(fd: number, addr: Buffer, described: string): void {
  const err = intSockopt(fd, SOL_SOCKET, SO_ERROR);
  if (err !== 0) fail(`connect(${fd}, ${described}, ${addr.length})`, err);
}

export function listenSocket(fd: number, backlog: number): void {
  if (load().listen(fd, backlog) < 0) fail(`listen(${fd}, ${backlog})`);
}

/** accept4(2): the new descriptor and the peer's address, or undefined when none is waiting. */
export function acceptSocket(fd: number): { fd: number; peer: Buffer } | undefined {
  const peer = Buffer.alloc(128);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(peer.length);
  const c = load().accept4(fd, peer, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0) {
    const err = errno();
    if (wouldBlock(err) || err === constants.errno.ECONNABORTED) return undefined;
    fail(`accept(${fd}, …)`, err);
  }
  return { fd: c, peer: peer.subarray(0, len.readUInt32LE(0)) };
}

export interface Received {
  /** Bytes received (for a datagram: its length, even when it was longer than the buffer). */
  length: number;
  /** The datagram did not fit the buffer and was cut short. */
  truncated: boolean;
  /** The sender's address, when the socket reports one. */
  from?: Buffer;
  /** Ancillary data, when asked for. */
  control?: Buffer;
}

/** recvmsg(2) into `buf`; undefined when nothing is there. A stream's end of file is length 0. */
export function receive(fd: number, buf: Buffer, want: { from?: boolean; control?: number; errorQueue?: boolean; peek?: boolean } = {}): Received | undefined {
  const name = want.from ? Buffer.alloc(128) : null;
  const control = want.control ? Buffer.alloc(want.control) : null;
  const msg: MsgHdr = { name, namelen: name?.length ?? 0, iov: [{ base: buf, len: buf.length }], iovlen: 1, control, controllen: control?.length ?? 0, flags: 0 };
  // MSG_ERRQUEUE: the queued errors (ICMP reports) of a socket with IP_RECVERR instead of data
  // MSG_PEEK: the message stays queued for the next read (a DTLS server learns its client from the ClientHello OpenSSL then reads)
  const n = Number(load().recvmsg(fd, msg, (want.errorQueue ? MSG_ERRQUEUE : 0) | (want.peek ? MSG_PEEK : 0)));
  if (n < 0) {
    const err = errno();
    if (wouldBlock(err)) return undefined;
    fail(`recvmsg(${fd}, …)`, err);
  }
  return {
    length: n,
    truncated: (msg.flags & MSG_TRUNC) !== 0,
    from: name && msg.namelen > 0 ? name.subarray(0, msg.namelen) : undefined,
    control: control ? control.subarray(0, msg.controllen) : undefined,
  };
}

/** send(2)/sendto(2) without SIGPIPE: bytes taken, or undefined when the socket is full. */
export function sendOn(fd: number, data: Buffer, to?: Buffer): number | undefined {
  const n = Number(load().sendto(fd, data, data.length, MSG_NOSIGNAL, to ?? null, to?.length ?? 0));
  if (n < 0) {
    const err = errno();
    if (wouldBlock(err)) return undefined;
    fail(to ? `sendto(${fd}, …, ${data.length})` : `send(${fd}, …, ${data.length})`, err);
  }
  return n;
}

const SPLICE_F_MOVE = 1;
const SPLICE_F_NONBLOCK = 2;

/**
 * splice(2) from `from` to `to`, one of them a pipe, neither side waiting:
 * bytes moved (0 at the end of the input), or undefined when a side would
 * wait (an empty input, a full pipe or socket). A failure throws an Error
 * shaped like Node's system errors: `code` errno's name, `message` strerror's text.
 */
export function spliceBytes(from: number, to: number, len: number): number | undefined {
  const c = load();
  const n = Number(c.splice(from, null, to, null, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK));
  if (n >= 0) return n;
  const err = errno();
  if (wouldBlock(err)) return undefined;
  throw systemFailure(c, err, 'splice');
}

/** A failed call shaped like Node's system errors: `code` errno's name, `message` strerror's text. */
function systemFailure(c: Calls, err: number, syscall: string): Error {
  return Object.assign(new Error(c.strerror(err)), { code: errnoNames.get(err) ?? 'EIO', errno: err, syscall });
}

// struct msghdr and struct mmsghdr on 64-bit Linux (x86_64, aarch64): the fields the ring sets
const MSG_NAMELEN = 8;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MMSG_LEN = 56;
const MMSGHDR = 64;
const IOVEC = 16;
/** Room for a sender's address: sockaddr_in6 is 28 bytes. */
const NAME = 32;

/**
 * Datagrams received and sent in batches (recvmmsg/sendmmsg) through memory
 * allocated once: `slots` buffers of `size` bytes, a message header and an
 * iovec for each, one set for receiving and one for sending what was received,
 * so relaying a packet allocates nothing. Connected sockets only (no addresses).
 * `free()` gives the memory back; nothing may use the ring after it.
 */
export class MessageRing {
  /** The received datagrams' lengths (their full length when cut short), by slot. */
  readonly lengths: number[];
  /** Each slot's memory, for a datagram that must be looked at or handed on. */
  readonly slotBuffers: Buffer[];
  private readonly memory: unknown;
  private readonly view: Buffer;
  private readonly recvVec: number;
  private readonly sendVec: number;
  private readonly sendIov: number;
  private readonly names: number;
  private readonly base: bigint;
  private freed = false;

  constructor(
    readonly slots: number,
    readonly size: number,
  ) {
    if (process.platform !== 'linux' || process.arch.match(/^(x64|arm64)$/) === null) throw new Error('recvmmsg ring: 64-bit Linux only');
    const { koffi } = load();
    const data = slots * size;
    // data, then the receive headers, the send headers, the receive iovecs, the send iovecs, the senders' addresses
    const total = data + 2 * slots * MMSGHDR + 2 * slots * IOVEC + slots * NAME;
    this.memory = koffi.alloc('uint8_t', total);
    const base = koffi.address(this.memory) as bigint;
    this.base = base;
    this.view = Buffer.from(koffi.view(this.memory as never, total));
    this.view.fill(0, data);
    this.recvVec = data;
    this.sendVec = data + slots * MMSGHDR;
    const recvIov = data + 2 * slots * MMSGHDR;
    this.sendIov = recvIov + slots * IOVEC;
    this.names = this.sendIov + slots * IOVEC;
    this.lengths = new Array<number>(slots).fill(0);
    this.slotBuffers = [];
    for (let i = 0; i < slots; i++) {
      this.slotBuffers.push(this.view.subarray(i * size, (i + 1) * size));
      for (const [vec, iov] of [
        [this.recvVec, recvIov],
        [this.sendVec, this.sendIov],
      ]) {
        this.view.writeBigUInt64LE(base + BigInt(iov + i * IOVEC), vec + i * MMSGHDR + MSG_IOV);
        this.view.writeBigUInt64LE(1n, vec + i * MMSGHDR + MSG_IOVLEN);
        this.view.writeBigUInt64LE(base + BigInt(i * size), iov + i * IOVEC);
      }
      this.view.writeBigUInt64LE(base + BigInt(this.names + i * NAME), this.recvVec + i * MMSGHDR);
    }
    this.readLength = size;
  }

  private set readLength(len: number) {
    const recvIov = this.recvVec + 2 * this.slots * MMSGHDR;
    for (let i = 0; i < this.slots; i++) this.view.writeBigUInt64LE(BigInt(len), recvIov + i * IOVEC + 8);
  }

  /**
   * Receives up to `count` datagrams into slots 0… (their lengths in `lengths`); 0 when none is
   * waiting. A datagram longer than `size` is cut short, as recv() with that buffer cuts it.
   */
  receive(fd: number, count: number): number {
    const c = load();
    for (let i = 0; i < count; i++) this.view.writeUInt32LE(NAME, this.recvVec + i * MMSGHDR + MSG_NAMELEN);
    const n = c.recvmmsg(fd, this.at(this.recvVec), Math.min(count, this.slots), 0, null);
    if (n < 0) {
      const err = errno();
      if (wouldBlock(err)) return 0;
      throw systemFailure(c, err, 'recvmmsg');
    }
    for (let i = 0; i < n; i++) this.lengths[i] = Math.min(this.view.readUInt32LE(this.recvVec + i * MMSGHDR + MMSG_LEN), this.size);
    return n;
  }

  /** The sender of the datagram received into slot `i` (a sockaddr, as getpeername() gives it). */
  sender(i: number): Buffer {
    const len = Math.min(this.view.readUInt32LE(this.recvVec + i * MMSGHDR + MSG_NAMELEN), NAME);
    return this.view.subarray(this.names + i * NAME, this.names + i * NAME + len);
  }

  /** Moves the datagram in slot `from` to slot `to` (dropping the one there). */
  move(from: number, to: number): void {
    const len = this.lengths[from] as number;
    this.view.copy(this.view, to * this.size, from * this.size, from * this.size + len);
    this.lengths[to] = len;
  }

  /** Sends slots `from`…`to - 1` as they were received (their `lengths`): how many went, 0 when the socket is full. */
  send(fd: number, from: number, to: number): number {
    const c = load();
    for (let i = from; i < to; i++) this.view.writeBigUInt64LE(BigInt(this.lengths[i] as number), this.sendIov + i * IOVEC + 8);
    const n = c.sendmmsg(fd, this.at(this.sendVec + from * MMSGHDR), to - from, MSG_NOSIGNAL);
    if (n < 0) {
      const err = errno();
      if (wouldBlock(err)) return 0;
      throw systemFailure(c, err, 'sendmmsg');
    }
    return n;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    load().koffi.free(this.memory as never);
  }

  /** A pointer `offset` bytes into the ring's memory (koffi takes an address as a bigint). */
  private at(offset: number): bigint {
    if (this.freed) throw new Error('recvmmsg ring used after free');
    return this.base + BigInt(offset);
  }
}

export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** shutdown(2); a peer already gone is no failure here. */
export function shutdownSocket(fd: number, how: number): void {
  if (load().shutdown(fd, how) < 0 && errno() !== constants.errno.ENOTCONN) fail(`shutdown(${fd}, ${how})`);
}

export function intSockopt(fd: number, level: number, name: number): number {
  const value = Buffer.alloc(4);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(4);
  if (load().getsockopt(fd, level, name, value, len) < 0) fail(`getsockopt(${fd}, ${level}, ${name})`);
  return value.readInt32LE(0);
}

/** The socket's type (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET…). */
export function socketType(fd: number): number {
  return intSockopt(fd, SOL_SOCKET, SO_TYPE);
}

function nameOf(fd: number, which: 'getsockname' | 'getpeername'): Buffer {
  const addr = Buffer.alloc(128);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(addr.length);
  if (load()[which](fd, addr, len) < 0) fail(`${which}(${fd})`);
  return addr.subarray(0, len.readUInt32LE(0));
}

export const localAddressOf = (fd: number) => nameOf(fd, 'getsockname');
export const peerAddressOf = (fd: number) => nameOf(fd, 'getpeername');

/** if_nametoindex(3): the interface's index in this network namespace, 0 when there is no such interface. */
export function interfaceIndex(name: string): number {
  return load().if_nametoindex(name);
}

export function closeDescriptor(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
