/**
 * The …-RECVFROM addresses over a descriptor-layer socket (generic
 * SOCKET-RECVFROM, raw IP): each arriving message from a peer the address
 * accepts is one session, as in socat. The session reads that one message,
 * then end of file; what it writes goes back to the message's sender. Without
 * fork the relay takes the first session only; with fork every message gets
 * its own.
 *
 * The sessions share the listener's descriptor and its one event-loop watch
 * (a descriptor can be watched once): the listener reads and queues messages,
 * and sends each session's replies. The descriptor closes when the listener
 * and every session are done with it.
 */
import { Writable } from 'node:stream';
import { TsocatError } from '../../../errors.js';
import { DescriptorWatch, UV_READABLE, UV_WRITABLE } from '../../../sys/poll.js';
import { closeDescriptor, receive, sendOn } from '../../../sys/sockets.js';
import { type AccessMode, type Endpoint, type Listener, makeEndpoint } from '../../endpoint.js';
import type { ChunkSource } from '../../source.js';
import { sourceReadable } from '../../source.js';

/** Messages waiting for accept() before reading stops (the socket's own buffer holds the rest). */
const QUEUE_MAX = 64;

export interface RecvFromOptions {
  description: string;
  /** Bytes read per message (socat's -b): a longer message is cut, as socat's read cuts it. */
  readSize: number;
  mode: AccessMode;
  /** Which messages make a session; others are read and dropped (range, a peer check). */
  accept?: (from: Buffer) => boolean;
  payload?: (message: Buffer) => Buffer;
  /** Logs each message and describes the session's peer. */
  onMessage?: (from: Buffer, length: number) => void;
  /** socat's SOCAT_PEERADDR/… for programs started for a session. */
  connectionInfo?: (from: Buffer) => Record<string, string>;
  /** Ancillary data read with each message (bytes of control buffer), and what of it goes to the program (ancillary.ts). */
  control?: { size: number; variables: (control: Buffer) => Record<string, string> };
  onClose?: () => void | Promise<void>;
}

interface Message {
  data: Buffer;
  from: Buffer;
  /** What the message's control messages said, for the program. */
  variables?: Record<string, string>;
}

interface Send {
  data: Buffer;
  to: Buffer;
  done: (err?: Error | null) => void;
}

export function recvFromListener(fd: number, opts: RecvFromOptions): Listener {
  const messages: Message[] = [];
  const waiters: Array<{ resolve: (m: Message) => void; reject: (e: Error) => void }> = [];
  const sends: Send[] = [];
  let users = 1; // the listener, then each session
  let failure: Error | undefined;
  let closed: Promise<void> | undefined;

  const readOne = (): boolean => {
    const buf = Buffer.allocUnsafe(opts.readSize);
    const got = receive(fd, buf, { from: true, control: opts.control?.size });
    if (!got) return false;
    const from = got.from ?? Buffer.alloc(0);
    // socat reads (and logs) a packet's control messages before its peer checks
    const variables = got.control && opts.control ? opts.control.variables(got.control) : undefined;
    if (opts.accept && !opts.accept(from)) return true;
    const received = buf.subarray(0, Math.min(got.length, buf.length));
    const data = opts.payload ? opts.payload(received) : received;
    if (data.length === 0) return true; // an empty datagram (or an IPv4 header alone) is no session
    opts.onMessage?.(from, got.length);
    const message = { data, from, variables };
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(message);
    else messages.push(message);
    return true;
  };

  const flush = () => {
    while (sends.length > 0) {
      const s = sends[0] as Send;
      let n: number | undefined;
      try {
        n = sendOn(fd, s.data, s.to);
      } catch (err) {
        sends.shift();
        s.done(err as Error);
        continue;
      }
      if (n === undefined) return;
      sends.shift();
      s.done();
    }
  };

  const watch = new DescriptorWatch(fd, (_status, events) => {
    if (events & UV_WRITABLE) flush();
    if (events & UV_READABLE) {
      try {
        for (let i = 0; i < 16 && messages.length < QUEUE_MAX && readOne(); i++);
      } catch (err) {
        failure = err as Error;
        for (const w of waiters.splice(0)) w.reject(failure);
      }
    }
    wantNow();
  });
  const wantNow = () => watch.want((waiters.length > 0 && !failure && users > 0 ? UV_READABLE : 0) | (sends.length > 0 ? UV_WRITABLE : 0));

  const release = async () => {
    users--;
    if (users > 0) {
      wantNow();
      return;
    }
    closed ??= (async () => {
      await watch.close();
      closeDescriptor(fd);
      await opts.onClose?.();
    })();
    await closed;
  };

  const session = (message: Message): Endpoint => {
    users++;
    let done = false;
    const source: ChunkSource = {
      start(sink) {
        // the one message, then end of file (socat's one-shot read)
        sink.data(message.data, () => {});
        sink.end();
      },
      pause() {},
      resume() {},
      stop() {},
    };
    const writable = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, cb) {
        sends.push({ data: chunk, to: message.from, done: cb });
        flush();
        wantNow();
      },
    });
    writable.on('error', () => {});
    const close = async () => {
      if (done) return;
      done = true;
      writable.destroy();
      await release();
    };
    return makeEndpoint({
      source: opts.mode === 'w' ? undefined : source,
      readable: opts.mode === 'w' ? undefined : sourceReadable(source, () => void close()),
      writable: opts.mode === 'r' ? undefined : writable,
      datagram: true,
      description: opts.description,
      connectionInfo: message.variables ? { ...opts.connectionInfo?.(message.from), ...message.variables } : opts.connectionInfo?.(message.from),
      // a datagram socket has no half-close; the session ends with the relay
      shutdownWrite: () => {
        if (!writable.writableEnded) writable.end();
      },
      close,
    });
  };

  // a second close() (the relay's, after the abort's) waits for the first, so the descriptor is closed and the socket file gone before tsocat exits
  let listenerClosed: Promise<void> | undefined;
  return {
    kind: 'listener',
    description: opts.description,
    accept() {
      return new Promise<Endpoint>((resolve, reject) => {
        if (failure) return reject(failure);
        const m = messages.shift();
        if (m) return resolve(session(m));
        waiters.push({ resolve: (msg) => resolve(session(msg)), reject });
        wantNow();
      });
    },
    close() {
      listenerClosed ??= (async () => {
        const err = new TsocatError('listener closed', 'ECLOSED');
        for (const w of waiters.splice(0)) w.reject(err);
        messages.length = 0;
        await release();
      })();
      return listenerClosed;
    },
  };
}
