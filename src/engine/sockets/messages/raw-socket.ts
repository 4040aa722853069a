/**
 * A socket descriptor Node has no handle for, as an endpoint: datagram and
 * seqpacket UNIX sockets, socket pairs, raw IP, generic SOCKET-*. The event
 * loop watches it (src/sys/poll.ts); reads and writes are koffi calls
 * (src/sys/sockets.ts) made when it says the descriptor is ready.
 *
 * It keeps the source contract (source.ts): in message mode (datagram,
 * seqpacket) one read is one message is one chunk and each write sends one
 * message; reads land in reused buffers, handed back when written on.
 */
import { Writable } from 'node:stream';
import { DescriptorWatch, UV_READABLE, UV_WRITABLE } from '../../../sys/poll.js';
import { closeDescriptor, receive, SHUT_WR, sendOn, shutdownSocket } from '../../../sys/sockets.js';
import { readBuffers } from '../../descriptors/socket-source.js';
import { type AccessMode, type Endpoint, makeEndpoint } from '../../endpoint.js';
import { type ChunkSource, type SourceSink, sourceReadable } from '../../source.js';

/** Reads handled per readiness callback before giving other work a turn. */
const READS_PER_TURN = 16;

export interface RawSocketOptions {
  /** A datagram or seqpacket socket: keep message boundaries. */
  message: boolean;
  /** A stream or seqpacket socket: shutdownWrite() is shutdown(SHUT_WR). A datagram socket has no half-close. */
  halfClose: boolean;
  /** Where each write goes, for a socket that is not connected (…-SENDTO). */
  sendTo?: Buffer;
  /** Report each message's sender (…-RECVFROM, …-RECV); return false to drop the message. */
  onSender?: (from: Buffer) => boolean;
  /** Ancillary data wanted with each message (bytes of control buffer), and who gets it. */
  control?: { size: number; receive: (control: Buffer) => void };
  /** socat's null-eof: an empty datagram ends the direction (otherwise it is ignored, as socat does). */
  nullEof?: boolean;
  /** What of each received message is data (an IPv4 raw socket hands the IP header too, which socat leaves out). */
  payload?: (message: Buffer) => Buffer;
  /** Called once the descriptor is closed (unlink a socket file, …). */
  onClose?: () => void | Promise<void>;
  description: string;
  mode?: AccessMode;
}

/** Writes waiting for the socket to take them. */
interface PendingWrite {
  data: Buffer;
  done: (err?: Error | null) => void;
}

export function rawSocketEndpoint(fd: number, opts: RawSocketOptions): Endpoint {
  const mode = opts.mode ?? 'rw';
  let sink: SourceSink | undefined;
  let reading = false;
  let ended = false;
  const pending: PendingWrite[] = [];
  let endWhenFlushed: (() => void) | undefined;

  const watch = new DescriptorWatch(fd, (status, events) => {
    if (status < 0) {
      // the descriptor is in error: the read or write that follows reports which
      events = UV_READABLE | UV_WRITABLE;
    }
    if (events & UV_WRITABLE) flush();
    if (events & UV_READABLE && reading) readSome();
    wantNow();
  });
  const wantNow = () => watch.want((reading && !ended ? UV_READABLE : 0) | (pending.length > 0 ? UV_WRITABLE : 0));

  const readSome = () => {
    for (let i = 0; i < READS_PER_TURN && reading && sink && !ended; i++) {
      const buf = readBuffers.take();
      let got: ReturnType<typeof receive>;
      try {
        got = receive(fd, buf, { from: opts.onSender !== undefined, control: opts.control?.size });
      } catch (err) {
        readBuffers.give(buf);
        ended = true;
        sink.error(err as Error);
        return;
      }
      if (!got) {
        readBuffers.give(buf);
        return;
      }
      // socat reads (and logs) a packet's control messages before its peer checks
      if (got.control) opts.control?.receive(got.control);
      // a sender the address does not take is dropped first, as socat checks the peer before reading: its empty datagram ends nothing
      if (got.from && opts.onSender && !opts.onSender(got.from)) {
        readBuffers.give(buf);
        continue;
      }
      if (got.length === 0) {
        readBuffers.give(buf);
        // a stream's or seqpacket's end of file; on a datagram socket an empty datagram, which socat ignores unless null-eof
        if (!opts.message || opts.halfClose || opts.nullEof) {
          ended = true;
          sink.end();
          return;
        }
        continue;
      }
      // a datagram longer than the buffer was cut short by the kernel, as socat's read with its buffer size
      const received = buf.subarray(0, Math.min(got.length, buf.length));
      const chunk = opts.payload ? opts.payload(received) : received;
      if (chunk.length === 0) {
        // an IPv4 packet with a header and nothing after it: an empty datagram to socat too (null-eof ends the input)
        readBuffers.give(buf);
        if (opts.nullEof) {
          ended = true;
          sink.end();
          return;
        }
        continue;
      }
      let given = false;
      sink.data(chunk, () => {
        if (given) return;
        given = true;
        readBuffers.give(buf);
      });
    }
  };

  const flush = () => {
    while (pending.length > 0) {
      const w = pending[0] as PendingWrite;
      let n: number | undefined;
      try {
        n = sendOn(fd, w.data, opts.sendTo);
      } catch (err) {
        pending.shift();
        w.done(err as Error);
        continue;
      }
      if (n === undefined) return; // full: wait until writable
      if (!opts.message && n < w.data.length) {
        w.data = w.data.subarray(n);
        continue;
      }
      pending.shift();
      w.done();
    }
    endWhenFlushed?.();
    endWhenFlushed = undefined;
  };

  const source: ChunkSource = {
    start(s) {
      sink = s;
      reading = true;
      wantNow();
    },
    pause() {
      reading = false;
      wantNow();
    },
    resume() {
      reading = true;
      wantNow();
    },
    stop() {
      sink = undefined;
      reading = false;
      wantNow();
    },
  };

  const writable = new Writable({
    // one message per write(): Node must never join queued writes
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, done) {
      pending.push({ data: chunk, done });
      flush();
      wantNow();
    },
    final(done) {
      const shut = () => {
        try {
          if (opts.halfClose) shutdownSocket(fd, SHUT_WR);
          done();
        } catch (err) {
          done(err as Error);
        }
      };
      if (pending.length === 0) shut();
      else endWhenFlushed = shut;
    },
  });
  writable.on('error', () => {}); // reported to the pump through write callbacks

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      reading = false;
      sink = undefined;
      writable.destroy();
      await watch.close();
      closeDescriptor(fd);
      await opts.onClose?.();
    })();
    return closed;
  };
  return makeEndpoint({
    source: mode === 'w' ? undefined : source,
    readable: mode === 'w' ? undefined : sourceReadable(source, () => void close()),
    writable: mode === 'r' ? undefined : writable,
    datagram: opts.message,
    description: opts.description,
    // the program holds its own copy: tsocat's goes, without a shutdown
    handOver: { read: fd, write: fd, release: () => void watch.close().then(() => closeDescriptor(fd)) },
    shutdownWrite: () => {
      if (!writable.writableEnded) writable.end();
    },
    close,
  });
}
