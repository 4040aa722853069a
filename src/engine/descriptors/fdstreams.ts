/**
 * Node streams over raw descriptors. Sockets and FIFOs go through libuv
 * (net.Socket), terminals through tty, everything else (regular files,
 * character devices) through positional fs reads and writes.
 */
import { close, fstatSync, read, write, writev } from 'node:fs';
import type { Socket, SocketConstructorOpts } from 'node:net';
import { Readable, Writable } from 'node:stream';
import type { AccessMode, HandOver } from '../endpoint.js';
import { isatty, net, tty } from '../../sys/builtins.js';
import { setNonBlocking } from '../../sys/libc.js';
import { pollRefusesDevice } from '../../sys/poll.js';
import { IGNOREEOF_POLL_MS } from './past-eof.js';
import { polledStreams } from './polled-fd.js';
import { nonBlockingTerminalWrites } from './terminal-writes.js';
import { reusingSocketForFd } from './socket-source.js';
import type { ChunkSource } from '../source.js';

export interface FdReaderOptions {
  /** Keep polling at EOF (socat's ignoreeof) instead of ending. */
  ignoreEof?: boolean;
  /** Close the descriptor when the stream is destroyed. */
  autoClose?: boolean;
  chunkSize?: number;
  /** Where each read lands, when plain Buffers will not do (O_DIRECT wants aligned memory). */
  allocate?: (size: number) => Buffer;
  /**
   * A socket or FIFO reads into reused buffers and is read through `source`
   * (its Readable then emits no 'data'): for endpoints, which hand `source` to the pump.
   */
  reusedBuffers?: boolean;
  /**
   * tsocat opened the descriptor itself (a path), so its open file description is
   * nobody else's: a terminal or character device is then made non-blocking and
   * watched by the event loop (polled-fd.ts). Inherited ones (STDIO, FD) are shared
   * with the shell and stay as they are.
   */
  ownDescription?: boolean;
}

/** A Readable over a file descriptor read with fs.read (blocking kinds only: files, devices). */
export class FdReader extends Readable {
  private timer: NodeJS.Timeout | undefined;
  private readonly chunk: number;

  constructor(
    private readonly fd: number,
    private readonly opts: FdReaderOptions = {},
  ) {
    super({ highWaterMark: opts.chunkSize ?? 65536 });
    this.chunk = opts.chunkSize ?? 65536;
  }

  override _read(): void {
    const buf = this.opts.allocate ? this.opts.allocate(this.chunk) : Buffer.allocUnsafe(this.chunk);
    // position null: read at (and move) the descriptor's own offset, which seek may have set
    read(this.fd, buf, 0, this.chunk, null, (err, n) => {
      if (this.destroyed) return;
      if (err) {
        this.destroy(err);
      } else if (n > 0) {
        this.push(buf.subarray(0, n));
      } else if (this.opts.ignoreEof) {
        this.timer = setTimeout(() => this._read(), IGNOREEOF_POLL_MS);
      } else {
        this.push(null);
      }
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.timer);
    if (this.opts.autoClose) close(this.fd, () => cb(err));
    else cb(err);
  }
}

/**
 * A Writable over a file descriptor written with fs.write (files, devices), as
 * fs.createWriteStream('', { fd }) would write it: at the descriptor's own
 * offset (O_APPEND and seek act), a short write finished before the next,
 * without autoClose ending at 'finish' with the descriptor left open. Ours
 * because createWriteStream loads fs/promises and readline (~11 % of Node's start-up).
 */
export class FdWriter extends Writable {
  /** A write the thread pool still has: the descriptor is closed only after it. */
  private writing: (() => void) | undefined;
  private busy = false;

  constructor(
    private readonly fd: number,
    private readonly autoClose: boolean,
  ) {
    super({ autoDestroy: autoClose });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.io((done) => writeAll(this.fd, [chunk], done), cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.io((done) => writeAll(this.fd, chunks.map((c) => c.chunk), done), cb);
  }

  private io(run: (done: (err: Error | null) => void) => void, cb: (err?: Error | null) => void): void {
    this.busy = true;
    run((err) => {
      this.busy = false;
      const after = this.writing;
      this.writing = undefined;
      cb(err);
      after?.();
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const finish = () => (this.autoClose ? close(this.fd, (closeErr) => cb(err ?? closeErr)) : cb(err));
    if (this.busy) this.writing = finish;
    else finish();
  }
}

/** Writes every byte of `chunks` at the descriptor's offset, going on after short writes. */
function writeAll(fd: number, chunks: Buffer[], done: (err: Error | null) => void): void {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const wrote = (err: Error | null, n: number) => {
    if (err) return done(err);
    if (n >= total) return done(null);
    // the rest, from where the kernel stopped
    let skip = n;
    const rest: Buffer[] = [];
    for (const c of chunks) {
      if (skip >= c.length) skip -= c.length;
      else {
        rest.push(skip ? c.subarray(skip) : c);
        skip = 0;
      }
    }
    writeAll(fd, rest, done);
  };
  if (chunks.length === 1) write(fd, chunks[0] as Buffer, 0, total, null, wrote);
  else writev(fd, chunks, null, wrote);
}

export interface FdStreams {
  readable?: Readable;
  /** With `reusedBuffers`, how a socket or FIFO is read (see socket-source.ts). */
  source?: ChunkSource;
  writable?: Writable;
  /**
   * The descriptor to read on after the stream ended (ignoreeof), where it stays
   * open until the stream is destroyed: sockets and FIFOs, which are half-open
   * here. (A terminal's stream closes its descriptor at EOF; a file's reader polls by itself.)
   */
  readFd?: number;
  /** When both sides share one object (a socket), ending writes must use shutdown, not close. */
  socket?: Socket;
  /** Files, devices and terminals read nothing until asked, so a program can take the descriptor over. */
  handOver?: HandOver;
}

/** Picks the right stream kind for a descriptor and mode. */
export function streamsForFd(fd: number, mode: AccessMode, opts: { autoClose: boolean } & FdReaderOptions): FdStreams {
  const st = fstatSync(fd);
  const wantRead = mode !== 'w';
  const wantWrite = mode !== 'r';
  if (st.isSocket() || st.isFIFO()) {
    // Node destroys a socket (closing its descriptor) once reading ended and writing is off; with
    // ignoreeof the descriptor must outlive end of file, so the socket is left with a writing side
    // that is never handed out.
    const keepOpen = wantRead && opts.ignoreEof === true;
    // made paused (Node's internal pauseOnCreate, as for accepted sockets): a Socket over a descriptor otherwise
    // reads at once, and what it took would be gone for whoever reads next when this relay never wanted it (STALL)
    const socketOpts = { fd, readable: wantRead, writable: wantWrite || keepOpen, allowHalfOpen: true, pauseOnCreate: true } as SocketConstructorOpts;
    const reusing = wantRead && opts.reusedBuffers ? reusingSocketForFd(socketOpts) : undefined;
    const socket = reusing?.socket ?? new (net().Socket)(socketOpts);
    // back to "no consumer yet": the first 'data' listener or resume() starts reading, as on any fresh socket
    (socket as { readableFlowing: boolean | null }).readableFlowing = null;
    return { readable: wantRead ? (reusing?.readable ?? socket) : undefined, source: reusing?.source, readFd: wantRead ? fd : undefined, writable: wantWrite ? socket : undefined, socket };
  }
  const handOverOf = (readable: Readable | undefined, writable: Writable | undefined): HandOver => ({
    read: wantRead ? fd : undefined,
    write: wantWrite ? fd : undefined,
    release: () => {
      readable?.destroy();
      writable?.destroy();
    },
  });
  if (opts.ownDescription && st.isCharacterDevice() && !pollRefusesDevice(st.rdev)) {
    const polled = polledStreams(fd, mode, opts);
    if (polled) {
      setNonBlocking(fd, true);
      const { readable, writable } = polled;
      return {
        readable,
        writable,
        handOver: {
          read: wantRead ? fd : undefined,
          write: wantWrite ? fd : undefined,
          release: () => {
            // the program gets the descriptor as socat would hand it over: blocking
            setNonBlocking(fd, false);
            readable?.destroy();
            writable?.destroy();
          },
        },
      };
    }
  }
  if (isatty(fd, st)) {
    const readable = wantRead ? new (tty().ReadStream)(fd) : undefined;
    const writable = wantWrite ? new (tty().WriteStream)(fd) : undefined;
    if (writable) nonBlockingTerminalWrites(writable, fd);
    return { readable, writable, handOver: handOverOf(readable, writable) };
  }
  const both = wantRead && wantWrite;
  const readable = wantRead ? new FdReader(fd, { ...opts, autoClose: opts.autoClose && !both }) : undefined;
  const writable = wantWrite ? new FdWriter(fd, opts.autoClose && !both) : undefined;
  // Both ways on one descriptor: it is closed when both streams are done. Closed by the writer
  // alone, a reader that goes on (ignoreeof after the other address's end) read a closed descriptor.
  if (both && opts.autoClose && readable && writable) closeWhenBothClosed(fd, readable, writable);
  return { readable, writable, handOver: handOverOf(readable, writable) };
}

/** Closes `fd` once the reader and the writer over it are both done (a writer without autoClose emits 'finish', not 'close'). */
function closeWhenBothClosed(fd: number, reader: Readable, writer: Writable): void {
  let open = 2;
  const doneWith = (stream: Readable | Writable, events: string[]) => {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      if (--open === 0) close(fd, () => {});
    };
    for (const e of events) stream.once(e, once);
  };
  doneWith(reader, ['close']);
  doneWith(writer, ['finish', 'close']);
}

/** Resolves once a writable has flushed everything and closed (or failed). */
export function endAndWait(w: Writable | undefined): Promise<void> {
  if (!w || w.destroyed || w.writableFinished) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => resolve();
    w.once('finish', done);
    w.once('close', done);
    w.once('error', done);
    if (!w.writableEnded) w.end();
  });
}
