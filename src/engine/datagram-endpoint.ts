/**
 * A datagram socket (node:dgram) as an endpoint that keeps message
 * boundaries: its source delivers one received datagram per chunk, and each
 * write() sends one datagram (an empty write sends an empty one, which is how
 * socat's shut-null says "end" to a datagram peer).
 */
import type { Socket as DgramSocket, RemoteInfo } from 'node:dgram';
import { Writable } from 'node:stream';
import { type Endpoint, makeEndpoint } from './endpoint.js';
import type { ChunkSource, SourceSink } from './source.js';

/** Messages kept while paused when the socket cannot stop receiving; beyond it they are dropped, as a full receive buffer drops them. */
const HELD_MAX = 1024;

interface ReceiveSwitch {
  recvStart(): number;
  recvStop(): number;
}

/**
 * node:dgram has no pause(): reading stops at libuv's handle, which Node keeps
 * behind a private symbol. Without it (another Node), messages are held up to HELD_MAX.
 */
function receiveSwitch(socket: DgramSocket): ReceiveSwitch | undefined {
  const key = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const handle = key ? (socket as unknown as Record<symbol, { handle?: Partial<ReceiveSwitch> }>)[key]?.handle : undefined;
  return typeof handle?.recvStart === 'function' && typeof handle.recvStop === 'function' ? (handle as ReceiveSwitch) : undefined;
}

export interface DatagramOptions {
  /** Where writes go when the socket is not connected (UDP-SENDTO); a connected socket needs none. */
  peer?: { address: string; port: number };
  /** Which received datagrams to take (a sender check, e.g. the first peer of UDP-LISTEN); others are dropped. */
  accept?: (from: RemoteInfo) => boolean;
  /** Called with each received datagram's sender (e.g. to log or to learn the peer). */
  onMessage?: (from: RemoteInfo) => void;
}

/** The receiving side: one chunk per datagram. */
export function datagramSource(socket: DgramSocket, opts: DatagramOptions = {}): ChunkSource {
  let sink: SourceSink | undefined;
  let paused = false;
  const held: Buffer[] = [];
  const control = receiveSwitch(socket);
  const onMessage = (msg: Buffer, from: RemoteInfo) => {
    if (opts.accept && !opts.accept(from)) return;
    opts.onMessage?.(from);
    if (!sink || paused) {
      if (held.length < HELD_MAX) held.push(msg);
      return;
    }
    sink.data(msg, () => {});
  };
  const onError = (err: Error) => sink?.error(err);
  const onClose = () => sink?.end();
  const flush = () => {
    while (sink && !paused && held.length > 0) sink.data(held.shift() as Buffer, () => {});
  };
  socket.on('message', onMessage);
  return {
    start(s) {
      sink = s;
      socket.once('error', onError);
      socket.once('close', onClose);
      flush();
    },
    pause() {
      paused = true;
      control?.recvStop();
    },
    resume() {
      paused = false;
      flush();
      if (!paused) control?.recvStart();
    },
    stop() {
      sink = undefined;
      socket.off('message', onMessage);
      socket.off('error', onError);
      socket.off('close', onClose);
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
      if (peer) socket.send(chunk, peer.port, peer.address, (err) => done(err ?? undefined));
      else socket.send(chunk, (err) => done(err ?? undefined));
    },
  });
}

/** A datagram socket, connected or with a fixed peer, as an endpoint. */
export function datagramEndpoint(socket: DgramSocket, description: string, opts: DatagramOptions = {}): Endpoint {
  socket.on('error', () => {}); // reported through the source and the writes
  const writable = datagramWritable(socket, opts);
  let closed = false;
  return makeEndpoint({
    source: datagramSource(socket, opts),
    writable,
    datagram: true,
    description,
    // a datagram socket has no half-close: nothing more is sent, and the peer hears nothing of it
    shutdownWrite: () => writable.end(),
    async close() {
      if (closed) return;
      closed = true;
      writable.destroy();
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
