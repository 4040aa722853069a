/**
 * The source contract: how an endpoint hands the pump what it reads.
 *
 * A source delivers chunks to one sink. Each chunk comes with `release()`:
 * the chunk's memory stays the sink's until it calls release (after the
 * write that carried it has finished), and may be reused for a later read
 * afterwards. A datagram source delivers exactly one message per chunk and
 * never joins or splits them.
 *
 * Two kinds exist: any Node Readable (files, terminals, programs' pipes:
 * Node allocates each chunk, release does nothing), and sockets and pipes
 * read through Node's `onread` into reused buffers from one pool for the
 * process (socket-source.ts), so a relay's memory grows neither with the
 * bytes it moves nor with the connections it has served.
 */
import { Readable } from 'node:stream';

export interface SourceSink {
  /** One chunk (one message for a datagram source); call `release` once it has been written. */
  data(chunk: Buffer, release: () => void): void;
  end(): void;
  error(err: Error): void;
}

export interface ChunkSource {
  /** Starts delivery to `sink`; called once. */
  start(sink: SourceSink): void;
  /** No more chunks until resume(); a chunk already in the kernel stays there. */
  pause(): void;
  resume(): void;
  /** Detaches the sink for good; nothing more is delivered. */
  stop(): void;
}

const nothing = () => {};

/** A source over a Node Readable: chunks as the stream emits them (one message each in object mode). */
export function readableSource(readable: Readable): ChunkSource {
  let sink: SourceSink | undefined;
  const onData = (chunk: Buffer) => sink?.data(chunk, nothing);
  const onEnd = () => sink?.end();
  const onError = (err: Error) => sink?.error(err);
  return {
    start(s) {
      sink = s;
      readable.on('data', onData);
      readable.once('end', onEnd);
      readable.once('error', onError);
      if (readable.readableEnded) queueMicrotask(onEnd);
      else readable.resume();
    },
    pause: () => readable.pause(),
    resume: () => readable.resume(),
    stop() {
      sink = undefined;
      readable.off('data', onData);
      readable.off('end', onEnd);
      readable.off('error', onError);
      readable.pause();
    },
  };
}

/**
 * A Readable over a source, for whoever wants a plain stream (library users
 * of openAddress, tests): chunks are copied out of the source's buffers, so
 * they stay valid. The pump never uses it; it reads the source itself.
 * Destroying it runs `destroy` (the socket's destroy, as when the socket was the stream).
 */
export function sourceReadable(source: ChunkSource, destroy: () => void, objectMode = false): Readable {
  let started = false;
  const readable = new Readable({
    objectMode,
    read() {
      if (started) {
        source.resume();
        return;
      }
      started = true;
      source.start({
        data(chunk, release) {
          const more = readable.push(Buffer.from(chunk));
          release();
          if (!more) source.pause();
        },
        end: () => readable.push(null),
        error: (err) => readable.destroy(err),
      });
    },
    destroy(err, cb) {
      if (started) source.stop();
      destroy();
      cb(err);
    },
  });
  return readable;
}
