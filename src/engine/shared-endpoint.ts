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
import { PassThrough, type Readable, Writable } from 'node:stream';
import { type Endpoint, makeEndpoint } from './endpoint.js';

export interface SharedEndpoint {
  /** A fresh view for one session. */
  view(): Endpoint;
  /** Closes address 1 itself, once no session needs it. */
  close(): Promise<void>;
}

/** Hands chunks read from one stream to the oldest subscriber, respecting its backpressure. */
function distributor(source: Readable) {
  const subscribers: PassThrough[] = [];
  let ended: Error | 'eof' | undefined;
  const feed = () => {
    for (;;) {
      const target = subscribers[0];
      if (!target || target.writableNeedDrain) return;
      const chunk = source.read();
      if (chunk === null) return;
      target.write(chunk);
    }
  };
  const finish = (how: Error | 'eof') => {
    ended = how;
    for (const s of subscribers) how === 'eof' ? s.end() : s.destroy(how);
  };
  source.on('readable', feed);
  source.on('end', () => finish('eof'));
  source.on('error', (err) => finish(err));
  return {
    subscribe(): PassThrough {
      const s = new PassThrough({ objectMode: source.readableObjectMode });
      if (ended) {
        ended === 'eof' ? s.end() : s.destroy(ended);
        return s;
      }
      subscribers.push(s);
      s.on('drain', feed);
      queueMicrotask(feed);
      return s;
    },
    unsubscribe(s: PassThrough): void {
      const i = subscribers.indexOf(s);
      if (i >= 0) subscribers.splice(i, 1);
      queueMicrotask(feed);
    },
  };
}

/** Writes into the shared writable without ever ending it: a session's end lets go of its view only. */
function forwardingWritable(target: Writable): Writable {
  return new Writable({
    objectMode: target.writableObjectMode,
    write(chunk, _encoding, done) {
      if (target.destroyed || target.writableEnded) return done(Object.assign(new Error('write after end'), { code: 'EPIPE' }));
      target.write(chunk, (err) => done(err ?? undefined));
    },
  });
}

export function shareEndpoint(shared: Endpoint): SharedEndpoint {
  const source = shared.readable ? distributor(shared.readable) : undefined;
  return {
    view(): Endpoint {
      const readable = source?.subscribe();
      const writable = shared.writable ? forwardingWritable(shared.writable) : undefined;
      let closed = false;
      return makeEndpoint({
        readable,
        writable,
        datagram: shared.datagram,
        appl: shared.appl,
        connectionInfo: shared.connectionInfo,
        description: shared.description,
        shutdownWrite: () => writable?.end(),
        async close() {
          if (closed) return;
          closed = true;
          if (readable) source?.unsubscribe(readable);
          readable?.destroy();
          writable?.destroy();
        },
      });
    },
    close: () => shared.close(),
  };
}
