/**
 * Address 1 shared by every session of a forking address 2
 * (`tsocat TCP:collector:80 TCP-LISTEN:8080,fork`). socat's forked children
 * each inherit the one open address 1; here each session gets a view of it.
 *
 * - Data read from address 1 goes to one session at a time, the oldest still
 *   running, as one read(2) of a shared descriptor reaches one child.
 * - A session's half-close and end only let go of its view: address 1 stays
 *   open for the next peer. socat 1.8's children do the same, whatever
 *   `end-close` says: after fork a child ends its inherited addresses by just
 *   closing its copies (no shutdown(), no killing the parent's program).
 */
import { Writable } from 'node:stream';
import { type Endpoint, makeEndpoint, sourceOf } from '../endpoint.js';
import type { ChunkSource, SourceSink } from '../source.js';

export interface SharedEndpoint {
  /** A fresh view for one session. */
  view(): Endpoint;
  /** Closes address 1 itself, once no session needs it. */
  close(): Promise<void>;
}

interface Subscriber {
  sink?: SourceSink;
  paused: boolean;
}

/**
 * Hands what one source delivers to the oldest subscriber that has started,
 * chunk by chunk (a datagram stays one message), and pauses the source while
 * that subscriber is paused or none is there. A chunk that arrives with no one
 * to take it is kept (copied: the source may reuse its buffer) for the next.
 */
function distributor(shared: ChunkSource) {
  const subscribers: Subscriber[] = [];
  const held: Buffer[] = [];
  let ended: Error | 'eof' | undefined;
  let started = false;
  const taker = () => subscribers.find((s) => s.sink !== undefined);
  const settle = () => {
    let t = taker();
    while (t && !t.paused && held.length > 0) {
      t.sink?.data(held.shift() as Buffer, () => {});
      t = taker();
    }
    if (!started) return;
    if (t && !t.paused && held.length === 0) shared.resume();
    else shared.pause();
  };
  const sharedSink: SourceSink = {
    data(chunk, release) {
      const t = taker();
      if (!t?.sink || t.paused || held.length > 0) {
        held.push(Buffer.from(chunk));
        release();
        shared.pause();
        return;
      }
      t.sink.data(chunk, release);
    },
    end() {
      ended = 'eof';
      for (const s of subscribers) s.sink?.end();
    },
    error(err) {
      ended = err;
      for (const s of subscribers) s.sink?.error(err);
    },
  };
  return {
    subscribe(): ChunkSource {
      const me: Subscriber = { paused: false };
      subscribers.push(me);
      return {
        start(sink) {
          me.sink = sink;
          const over = ended;
          if (over) {
            queueMicrotask(() => (over === 'eof' ? sink.end() : sink.error(over)));
            return;
          }
          if (!started) {
            started = true;
            shared.start(sharedSink);
          }
          settle();
        },
        pause() {
          me.paused = true;
          settle();
        },
        resume() {
          me.paused = false;
          settle();
        },
        stop() {
          const i = subscribers.indexOf(me);
          if (i >= 0) subscribers.splice(i, 1);
          me.sink = undefined;
          settle();
        },
      };
    },
  };
}

/**
 * One writer in front of a stream that many sessions write to (address 1
 * shared by fork, STDOUT, STDERR): the stream gets one 'error' listener
 * whatever the number of sessions, and each session writes through a view of
 * its own, which the pump may listen to as it likes. A view's write is done
 * when the stream has taken it, so each session is held back by its own
 * writes (the backpressure); ending a view never ends the stream.
 */
export function fanInWriter(target: Writable): () => Writable {
  let failure: Error | undefined;
  target.on('error', (err: Error) => {
    failure ??= err;
  });
  return () =>
    new Writable({
      objectMode: target.writableObjectMode,
      write(chunk, _encoding, done) {
        if (failure) return done(failure);
        if (target.destroyed || target.writableEnded) return done(Object.assign(new Error('write after end'), { code: 'EPIPE' }));
        target.write(chunk, (err) => done(err ?? undefined));
      },
    });
}

export function shareEndpoint(shared: Endpoint): SharedEndpoint {
  // its errors reach the sessions through the source; none may go unheard before the first session starts
  shared.readable?.on('error', () => {});
  const sharedSource = sourceOf(shared);
  const source = sharedSource ? distributor(sharedSource) : undefined;
  const writer = shared.writable ? fanInWriter(shared.writable) : undefined;
  return {
    view(): Endpoint {
      const viewSource = source?.subscribe();
      const writable = writer?.();
      let closed = false;
      return makeEndpoint({
        source: viewSource,
        writable,
        datagram: shared.datagram,
        appl: shared.appl,
        connectionInfo: shared.connectionInfo,
        description: shared.description,
        shutdownWrite: () => writable?.end(),
        async close() {
          if (closed) return;
          closed = true;
          viewSource?.stop();
          writable?.destroy();
        },
      });
    },
    close: () => shared.close(),
  };
}
