/**
 * Streams over a terminal or character device tsocat opened by path, made
 * non-blocking and watched by the event loop (src/sys/poll.ts). Node's
 * tty.WriteStream makes terminal writes blocking, and fs reads of a device
 * hold a thread of libuv's pool: a terminal nobody reads (a pty whose master
 * is idle) then froze the whole process — every session, and SIGTERM — in
 * the kernel's write. Here a read or write that would wait returns EAGAIN and
 * the loop is asked to say when the descriptor is ready.
 *
 * One watch serves both directions, since libuv allows one watcher per
 * descriptor. Devices the kernel cannot poll (/dev/null, /dev/zero, /dev/full:
 * always ready) are refused by uv_poll_init; `polledStreams` then answers
 * undefined and the caller keeps its blocking-kind streams, which never wait there.
 */
import { closeSync, readSync, writeSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { DescriptorWatch, UV_READABLE, UV_WRITABLE } from '../../sys/poll.js';
import type { AccessMode } from '../endpoint.js';
import { IGNOREEOF_POLL_MS } from './past-eof.js';

const wouldWait = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
};

export interface PolledStreams {
  readable?: Readable;
  writable?: Writable;
}

/** Reads and writes `fd` (already O_NONBLOCK, a description of tsocat's own) when the loop says it is ready. */
export function polledStreams(
  fd: number,
  mode: AccessMode,
  opts: {
    autoClose: boolean;
    ignoreEof?: boolean;
    chunkSize?: number;
    /** Each read is one message (a TUN packet): the readable hands out one chunk per read, never joined. */
    messages?: boolean;
    /** A read error that is this descriptor's end of input (a pty master's EIO): true ends the input instead of failing it. */
    endsInput?: (err: NodeJS.ErrnoException) => boolean;
  },
): PolledStreams | undefined {
  const wantRead = mode !== 'w';
  const wantWrite = mode !== 'r';
  const chunk = opts.chunkSize ?? 65536;
  let readWanted = false;
  let pending: { data: Buffer; done: (err?: Error | null) => void } | undefined;
  let eofTimer: NodeJS.Timeout | undefined;
  let readable: Readable | undefined;
  let writable: Writable | undefined;
  let watch: DescriptorWatch;
  const want = () => watch.want((readWanted ? UV_READABLE : 0) | (pending ? UV_WRITABLE : 0));

  const readSome = () => {
    if (!readable || readable.destroyed) return;
    readWanted = false;
    const buf = Buffer.allocUnsafe(chunk);
    let n: number;
    try {
      n = readSync(fd, buf, 0, chunk, null);
    } catch (err) {
      if (opts.endsInput?.(err as NodeJS.ErrnoException)) return void readable.push(null);
      if (!wouldWait(err)) return readable.destroy(err as Error);
      readWanted = true;
      return want();
    }
    if (n > 0) {
      // the stream calls read again while it wants more
      readable.push(buf.subarray(0, n));
      want();
    } else if (opts.ignoreEof) {
      want();
      eofTimer = setTimeout(readSome, IGNOREEOF_POLL_MS);
    } else {
      readable.push(null);
      want();
    }
  };

  const writeSome = () => {
    while (pending) {
      let n: number;
      try {
        n = writeSync(fd, pending.data);
      } catch (err) {
        if (wouldWait(err)) return want();
        const { done } = pending;
        pending = undefined;
        want();
        return done(err as Error);
      }
      if (n < pending.data.length) {
        pending.data = pending.data.subarray(n);
        continue;
      }
      const { done } = pending;
      pending = undefined;
      want();
      done();
    }
  };

  try {
    watch = new DescriptorWatch(fd, (status, events) => {
      // an error status: the read or write that follows says which
      if (status < 0) events = UV_READABLE | UV_WRITABLE;
      if (events & UV_WRITABLE && pending) writeSome();
      if (events & UV_READABLE && readWanted) readSome();
    });
  } catch {
    return undefined;
  }

  let open = (wantRead ? 1 : 0) + (wantWrite ? 1 : 0);
  const release = (cb: (err?: Error | null) => void, err: Error | null) => {
    if (--open > 0) return cb(err);
    void watch.close().then(() => {
      if (opts.autoClose) {
        try {
          closeSync(fd);
        } catch {
          // already gone
        }
      }
      cb(err);
    });
  };

  if (wantRead) {
    readable = new Readable({
      ...(opts.messages ? { objectMode: true, highWaterMark: 16 } : { highWaterMark: chunk }),
      read: readSome,
      destroy(err, cb) {
        clearTimeout(eofTimer);
        readWanted = false;
        release(cb, err);
      },
    });
  }
  if (wantWrite) {
    writable = new Writable({
      write(data: Buffer, _encoding, done) {
        pending = { data, done };
        writeSome();
      },
      destroy(err, cb) {
        pending = undefined;
        release(cb, err);
      },
    });
  }
  return { readable, writable };
}
