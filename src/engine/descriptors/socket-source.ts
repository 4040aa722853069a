/**
 * Sockets and pipes that read into reused buffers (the source contract's
 * second half, see source.ts).
 *
 * Node's default read path allocates a fresh 64 KiB buffer for every read;
 * the garbage is freed only when V8 gets round to it, so a relay's memory
 * grew with the bytes it moved (512 MB through TCP peaked at 87 MiB RSS).
 * With Node's `onread` option the kernel reads into buffers we supply: a
 * chunk's buffer goes back to the process's pool once the write that carried
 * it has finished, the buffer lent for the next read once the socket closes,
 * and backpressure (the pump pauses when the target is full) keeps a socket
 * at two or three buffers.
 */
import type { OnReadOpts, Socket, SocketConstructorOpts } from 'node:net';
import { net } from '../../sys/builtins.js';
import type { Readable } from 'node:stream';
import { type ChunkSource, type SourceSink, sourceReadable } from '../source.js';

/** One read at most; socat's default -b is 8192, Node's own read size 64 KiB. */
export const READ_BUFFER_SIZE = 65536;
/**
 * Idle buffers the process keeps for the next reads (4 MiB at most). A
 * socket that is moving data holds one buffer lent to libuv and one more per
 * write in flight, so a fork relay with many busy peers needs many at once;
 * once they are done, the rest go to the garbage collector instead of staying here.
 */
const POOL_KEEP = 64;

/**
 * The read buffers of the whole process, shared by every socket: lent to the
 * kernel, given back once written on (or once their socket has closed), and
 * reused by whichever socket reads next. One pool, not one per socket: a
 * pool per socket died with its socket, so every connection of a fork relay
 * allocated two or three fresh 64 KiB buffers per side, and under connection
 * churn that garbage (hundreds of MB by V8's count) left the allocator
 * holding memory the relay never gave back.
 */
class ReadBufferPool {
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private lent = 0;
  take(): Buffer {
    this.lent++;
    const buf = this.free.pop();
    if (buf) return buf;
    this.allocated++;
    return Buffer.allocUnsafeSlow(READ_BUFFER_SIZE);
  }
  /** Only a buffer no one reads into or writes from any more: the next take() may hand it to another socket. */
  give(buf: Buffer): void {
    this.lent--;
    if (this.free.length < POOL_KEEP) this.free.push(buf);
  }
  /** Lets go of idle buffers beyond `keep` (a fork server at rest, relay/at-rest.ts). */
  shrink(keep: number): void {
    if (this.free.length > keep) this.free.length = keep;
  }
  stats(): ReadBufferStats {
    return { allocated: this.allocated, lent: this.lent, idle: this.free.length, keep: POOL_KEEP };
  }
}

export interface ReadBufferStats {
  /** Buffers allocated since the process started. */
  allocated: number;
  /** Buffers taken and not given back: lent to a socket for its next read, or holding a chunk not yet written. */
  lent: number;
  /** Buffers in the pool now, waiting for a read. */
  idle: number;
  /** The most the pool keeps. */
  keep: number;
}

/** The process's read buffers (sockets here, datagram and raw sockets in raw-socket.ts). */
export const readBuffers = new ReadBufferPool();

/**
 * What every quiet socket (new, or whose last read emptied the kernel's queue)
 * lends libuv for its next read, so an idle peer holds no read buffer of its
 * own: one for the process. libuv calls back after each read before it reads
 * another socket, and the callback copies the bytes into a pooled buffer at
 * once; a full read (more is likely waiting) lends a pooled buffer for the
 * next, which then carries its bytes with no copy.
 */
let quietBuffer: Buffer | undefined;

/** How many read buffers the process has allocated and keeps (for tests and measurements). */
export function readBufferStats(): ReadBufferStats {
  return readBuffers.stats();
}

type OnRead = OnReadOpts;
/** Node's Socket constructor takes `onread` (documented for connect) and the internal `handle`/`pauseOnCreate` that net.Server uses for accepted sockets. */
type SocketOpts = SocketConstructorOpts & { onread?: OnRead; handle?: unknown; pauseOnCreate?: boolean };

/**
 * The reading half of a socket built with `onread`: make it first, pass
 * `onread` to the Socket's constructor, then `bind()` the socket to get its
 * source. What arrives before a sink starts is copied and reading stops, so
 * nothing is lost and nothing piles up.
 */
export function reusingReader(): { onread: OnRead; bind(socket: Socket): ChunkSource; unread(): boolean } {
  let sink: SourceSink | undefined;
  let started = false;
  let stopped = false;
  let paused = false;
  const early: Buffer[] = [];
  // the pooled buffer libuv reads into next, if any: Node asks for one when the socket is made and after each read
  let lent: Buffer | undefined;
  let quiet = true;
  const onread: OnRead = {
    buffer: () => {
      if (quiet) {
        quietBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_SIZE);
        return quietBuffer;
      }
      lent = readBuffers.take();
      return lent;
    },
    callback: (nread: number, buf: Uint8Array): boolean => {
      let whole = buf as Buffer;
      if (whole === quietBuffer) {
        whole = readBuffers.take();
        quietBuffer.copy(whole, 0, 0, nread);
      } else if (whole === lent) lent = undefined;
      quiet = nread < READ_BUFFER_SIZE;
      const chunk = whole.subarray(0, nread);
      if (!sink) {
        if (!stopped) early.push(Buffer.from(chunk));
        readBuffers.give(whole);
        return false;
      }
      let given = false;
      sink.data(chunk, () => {
        if (given) return;
        given = true;
        readBuffers.give(whole);
      });
      return !paused;
    },
  };
  const bind = (socket: Socket): ChunkSource => {
    // errors reach the sink through the listener start() adds; none may go unheard before that
    socket.on('error', () => {});
    // once the handle is closed libuv reads no more: the buffer it held goes back to the pool
    socket.once('close', () => {
      if (lent) readBuffers.give(lent);
      lent = undefined;
    });
    const onEnd = () => sink?.end();
    const onError = (err: Error) => sink?.error(err);
    return {
      start(s) {
        sink = s;
        started = true;
        socket.once('end', onEnd);
        socket.once('error', onError);
        for (const chunk of early.splice(0)) s.data(chunk, () => {});
        if (socket.readableEnded) queueMicrotask(onEnd);
        else if (!paused) socket.resume();
      },
      pause() {
        paused = true;
        socket.pause();
      },
      resume() {
        paused = false;
        socket.resume();
      },
      stop() {
        stopped = true;
        sink = undefined;
        early.length = 0;
        socket.off('end', onEnd);
        socket.off('error', onError);
        socket.pause();
      },
    };
  };
  // nothing has come through JavaScript yet: the kernel holds every byte the peer sent
  return { onread, bind, unread: () => !started && early.length === 0 };
}

/**
 * A socket that reads into reused buffers: `source` for the pump, and
 * `readable`, a plain stream over the same source for anyone else, whose
 * destroy() destroys the socket (as destroying the socket itself did).
 */
export interface ReusingSocket {
  socket: Socket;
  source: ChunkSource;
  readable: Readable;
  /** True while nothing has been read from the socket into JavaScript (the source never started). */
  unread(): boolean;
}

function withReadable(socket: Socket, reader: ReturnType<typeof reusingReader>): ReusingSocket {
  const source = reader.bind(socket);
  const readable = sourceReadable(source, () => socket.destroy());
  // -D looks for the descriptor under an endpoint's streams
  Object.defineProperty(readable, '_handle', { get: () => (socket as unknown as HandleHolder)._handle });
  return { socket, source, readable, unread: reader.unread };
}

/** A socket over a descriptor (a socket or FIFO handed to tsocat) that reads into reused buffers. */
export function reusingSocketForFd(opts: SocketConstructorOpts): ReusingSocket {
  const reader = reusingReader();
  const socket = new (net().Socket)({ ...opts, onread: reader.onread } as SocketOpts);
  return withReadable(socket, reader);
}

interface HandleHolder {
  _handle: unknown;
}

/**
 * Moves a connected socket that has read nothing yet (connected paused, or
 * accepted with pauseOnConnect) onto a new Socket object that reads into
 * reused buffers. Node offers `onread` only when a socket is constructed, and
 * net.Server constructs accepted sockets itself; the kernel descriptor and
 * libuv handle stay the same, only the JavaScript object around them changes.
 * Returns undefined when the socket cannot be moved (it has started reading).
 */
export function rehomeSocket(old: Socket): ReusingSocket | undefined {
  const handle = (old as unknown as HandleHolder)._handle;
  // a TLSSocket's handle is the TLS layer, not a stream a plain Socket can read: it keeps Node's own read path
  if ((old as { encrypted?: boolean }).encrypted === true) return undefined;
  if (!handle || old.destroyed || old.connecting || old.readableLength > 0 || old.readableFlowing === true) return undefined;
  // callers may still describe the connection through the old object, which will have no handle to ask
  for (const key of ['remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort', 'localFamily'] as const) {
    Object.defineProperty(old, key, { value: old[key] });
  }
  const reader = reusingReader();
  const socket = new (net().Socket)({
    handle,
    onread: reader.onread,
    allowHalfOpen: true,
    readable: old.readable,
    writable: old.writable,
    pauseOnCreate: true,
  } as SocketOpts);
  // the old object lets go of the handle without closing it; destroying it settles the server's count
  (old as unknown as HandleHolder)._handle = null;
  old.destroy();
  return withReadable(socket, reader);
}
