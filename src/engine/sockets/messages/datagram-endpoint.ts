/**
 * A datagram socket (node:dgram) as an endpoint that keeps message
 * boundaries: its source delivers one received datagram per chunk, and each
 * write() sends one datagram (an empty write sends an empty one, which is how
 * socat's shut-null says "end" to a datagram peer).
 */
import type { Socket as DgramSocket, RemoteInfo } from 'node:dgram';
import { Writable } from 'node:stream';
import { TsocatError } from '../../../errors.js';
import { type Endpoint, makeEndpoint } from '../../endpoint.js';
import type { ChunkSource, SourceSink } from '../../source.js';

/** Messages kept while paused when the socket cannot stop receiving; beyond it they are dropped, as a full receive buffer drops them. */
const HELD_MAX = 1024;

interface ReceiveSwitch {
  recvStart(): number;
  recvStop(): number;
}

/** libuv's handle under a dgram socket, which Node keeps behind a private symbol (undefined on a Node without it). */
function dgramHandle(socket: DgramSocket): (Partial<ReceiveSwitch> & { fd?: number }) | undefined {
  const key = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  return key ? (socket as unknown as Record<symbol, { handle?: Partial<ReceiveSwitch> & { fd?: number } }>)[key]?.handle : undefined;
}

/**
 * node:dgram has no pause(): reading stops at libuv's handle. Without it
 * (another Node), messages are held up to HELD_MAX.
 */
function receiveSwitch(socket: DgramSocket): ReceiveSwitch | undefined {
  const handle = dgramHandle(socket);
  return typeof handle?.recvStart === 'function' && typeof handle.recvStop === 'function' ? (handle as ReceiveSwitch) : undefined;
}

/** The descriptor under a dgram socket (libuv's), or undefined when Node no longer holds one. */
function handleFd(socket: DgramSocket): number | undefined {
  const fd = dgramHandle(socket)?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

export interface DatagramOptions {
  /** Where writes go when the socket is not connected (UDP-SENDTO); a connected socket needs none. */
  peer?: { address: string; port: number };
  /** Which received datagrams to take (a sender check, e.g. the first peer of UDP-LISTEN); others are dropped. */
  accept?: (from: RemoteInfo) => boolean;
  /** Called with each received datagram's sender (e.g. to log or to learn the peer). */
  onMessage?: (from: RemoteInfo) => void;
  /** Datagrams already received for this endpoint (e.g. the one that made a listener choose its peer), delivered first. */
  initial?: Buffer[];
  /**
   * What an empty datagram is: 'eof' ends the input (a connected socket, or null-eof), 'ignore'
   * drops it (socat's default on unconnected sockets, so port scans do no harm); default: an empty chunk.
   */
  empty?: 'eof' | 'ignore';
  /** The socket is connected and its descriptor is tsocat's own: it may be relayed in batches (Endpoint.datagramBatch). */
  batchable?: boolean;
}

/** The receiving side: one chunk per datagram. */
export function datagramSource(socket: DgramSocket, opts: DatagramOptions = {}): ChunkSource & { take(): Buffer[] } {
  const control = receiveSwitch(socket);
  const feed = heldFeed(opts.empty, () => control?.recvStop(), () => control?.recvStart());
  for (const msg of opts.initial ?? []) feed.push(msg);
  const onMessage = (msg: Buffer, from: RemoteInfo) => {
    if (opts.accept && !opts.accept(from)) return;
    opts.onMessage?.(from);
    feed.push(msg);
  };
  socket.on('message', onMessage);
  const onClose = () => feed.end();
  const source = feed.source;
  return {
    ...source,
    start(s) {
      socket.once('error', feed.error);
      socket.once('close', onClose);
      source.start(s);
    },
    stop() {
      source.stop();
      socket.off('message', onMessage);
      socket.off('error', feed.error);
      socket.off('close', onClose);
    },
    /** Stops reading the socket (for good) and hands over what was received and not yet read. */
    take() {
      control?.recvStop();
      socket.off('message', onMessage);
      return feed.take();
    },
  };
}

/**
 * A source that is handed its datagrams (push), holding them while paused or
 * not yet started (at most HELD_MAX, then dropped, as a full receive buffer
 * drops them). datagramSource feeds one from its socket; a listener that
 * shares one socket among sessions (UDP-LISTEN with fork) feeds one per peer.
 */
export interface HeldFeed {
  source: ChunkSource;
  push(msg: Buffer): void;
  end(): void;
  error(err: Error): void;
  /** The held datagrams, taken out: nothing more is held or delivered after. */
  take(): Buffer[];
}

export function heldFeed(empty?: 'eof' | 'ignore', onPause?: () => void, onResume?: () => void): HeldFeed {
  let sink: SourceSink | undefined;
  let paused = false;
  let ended = false;
  let endPending = false;
  const held: Buffer[] = [];
  const flush = () => {
    while (sink && !paused && held.length > 0) sink.data(held.shift() as Buffer, () => {});
    if (sink && held.length === 0 && endPending && !ended) {
      ended = true;
      sink.end();
    }
  };
  const push = (msg: Buffer) => {
    if (ended || endPending) return;
    if (msg.length === 0 && empty === 'ignore') return;
    if (msg.length === 0 && empty === 'eof') {
      endPending = true;
      flush();
      return;
    }
    if (!sink || paused || held.length > 0) {
      if (held.length < HELD_MAX) held.push(msg);
      return;
    }
    sink.data(msg, () => {});
  };
  return {
    push,
    end() {
      endPending = true;
      flush();
    },
    error: (err: Error) => sink?.error(err),
    take() {
      ended = true;
      return held.splice(0);
    },
    source: {
      start(s) {
        sink = s;
        flush();
      },
      pause() {
        paused = true;
        onPause?.();
      },
      resume() {
        paused = false;
        flush();
        if (!paused) onResume?.();
      },
      stop() {
        sink = undefined;
        held.length = 0;
      },
    },
  };
}

/** The sending side: each write is one datagram. */
export function datagramWritable(socket: DgramSocket, opts: DatagramOptions = {}): Writable {
  return new Writable({
    // one message per write(): never let Node join queued writes
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, done) {
      const peer = opts.peer;
      // Linux's sendto() refuses port 0, where Node's dgram would throw before asking: fail as socat's sendto() does
      // (the session words it as every failed write: write(<address>): Invalid argument, from the code)
      if (peer?.port === 0) done(new TsocatError('sendto(): Invalid argument', 'EINVAL'));
      else if (peer) socket.send(chunk, peer.port, peer.address, (err) => done(err ?? undefined));
      else socket.send(chunk, (err) => done(err ?? undefined));
    },
  });
}

/**
 * Lets the packets already written go out before the socket closes: a send to
 * an address (not a connected socket) takes a turn of the event loop, and
 * closing first would lose it. Bounded, since a send never waits on a peer.
 */
export async function finishWrites(writable: Writable): Promise<void> {
  if (!writable.destroyed && !writable.writableFinished) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      writable.once('finish', done);
      writable.once('error', done);
      writable.once('close', done);
      if (!writable.writableEnded) writable.end();
    });
  }
  writable.destroy();
}

/** A datagram socket, connected or with a fixed peer, as an endpoint. */
export function datagramEndpoint(socket: DgramSocket, description: string, opts: DatagramOptions = {}): Endpoint {
  socket.on('error', () => {}); // reported through the source and the writes
  const writable = datagramWritable(socket, opts);
  const source = datagramSource(socket, opts);
  let closed = false;
  return makeEndpoint({
    source,
    datagramBatch:
      opts.batchable && receiveSwitch(socket) !== undefined
        ? { fd: () => (closed ? undefined : handleFd(socket)), take: () => source.take() }
        : undefined,
    writable,
    datagram: true,
    description,
    // a datagram socket has no half-close: nothing more is sent, and the peer hears nothing of it
    shutdownWrite: () => writable.end(),
    async close() {
      if (closed) return;
      closed = true;
      await finishWrites(writable);
      await new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve(); // already closed
        }
      });
    },
  });
}
