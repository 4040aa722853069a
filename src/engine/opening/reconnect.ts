/**
 * `reconnect` on an address that connects (TCP, UNIX-CONNECT, OPENSSL, PROXY,
 * SOCKS4/4A, SOCKS5; `connect` is the address's whole connect): one endpoint for the
 * session's whole life over a connection that may drop. When it drops (end of
 * file, reset, a failed write) the endpoint connects again after `interval`,
 * doubling the pause up to 30 s, `retry` times or for ever; the other address
 * never sees the loss, so a PTY on the other side stays the same PTY. What is
 * written while disconnected waits in a buffer of `reconnect-buffer` bytes
 * (default 64 KiB; 0 drops it) and goes out first on the new connection;
 * what does not fit is dropped and logged.
 */
import { Writable } from 'node:stream';
import { TsocatError } from '../../errors.js';
import type { ResolvedOptions } from '../../../options/catalog.js';
import type { Logger } from '../../log/logger.js';
import type { OpenContext } from '../context.js';
import { sleep } from '../abort.js';
import { type Endpoint, makeEndpoint, sourceOf } from '../endpoint.js';
import type { ChunkSource, SourceSink } from '../source.js';

export interface ReconnectPolicy {
  /** Seconds before the first attempt; doubled after each failed one, up to MAX_PAUSE_S. */
  interval: number;
  /** Attempts per outage before giving up (Infinity with forever). */
  attempts: number;
  /** Bytes kept while disconnected; 0 drops them. */
  bufferLimit: number;
}

const MAX_PAUSE_S = 30;
const DEFAULT_RECONNECT_BUFFER = 65536;

/** The policy an address's options give: `interval` (1 s), `retry` attempts per outage (else for ever), `reconnect-buffer`. */
export function reconnectPolicy(o: ResolvedOptions): ReconnectPolicy {
  return {
    interval: o.number('interval') ?? 1,
    attempts: o.has('retry') && !o.bool('forever') ? Math.max(1, o.number('retry') as number) : Number.POSITIVE_INFINITY,
    bufferLimit: o.number('reconnect-buffer') ?? DEFAULT_RECONNECT_BUFFER,
  };
}

/** Connects once; with `reconnect`, wraps that connection and `connect` into one endpoint that outlives them. */
export async function connectWithReconnect(connect: () => Promise<Endpoint>, o: ResolvedOptions, ctx: Pick<OpenContext, 'log' | 'signal' | 'countReconnect'>): Promise<Endpoint> {
  const first = await connect();
  if (!o.bool('reconnect')) return first;
  const again = async () => {
    const ep = await connect();
    ctx.countReconnect?.();
    return ep;
  };
  return reconnectingEndpoint(first, again, reconnectPolicy(o), ctx.log, ctx.signal);
}

/** Wraps the first connection and `connect` (each later one) into one endpoint that outlives them. */
export function reconnectingEndpoint(first: Endpoint, connect: () => Promise<Endpoint>, policy: ReconnectPolicy, log: Logger, signal: AbortSignal): Endpoint {
  const name = first.description;
  let inner = first;
  let innerSource: ChunkSource | undefined;
  let sink: SourceSink | undefined;
  let paused = false;
  let closed = false;
  let connected = true;
  let held: Buffer[] = [];
  let heldBytes = 0;
  let dropped = 0;

  const keep = (chunk: Buffer) => {
    if (heldBytes + chunk.length <= policy.bufferLimit) {
      held.push(Buffer.from(chunk));
      heldBytes += chunk.length;
      return;
    }
    if (dropped === 0) log.log('W', `${name}: disconnected, reconnect-buffer (${policy.bufferLimit} bytes) full: dropping what is written until reconnected`);
    dropped += chunk.length;
  };

  /** A write waiting for the connection's drain; a loss lets it go (the next writes are kept or dropped). */
  let waitingDrain: (() => void) | undefined;
  const writeThrough = (chunk: Buffer, done: () => void) => {
    const conn = inner;
    const w = conn.writable;
    if (!connected || !w || w.destroyed || w.writableEnded) {
      keep(chunk);
      done();
      return;
    }
    // backpressure from the connection's buffer, not its write callbacks: a dropped socket may never call them
    const ok = w.write(chunk, (err) => {
      if (err && conn === inner) lost(err.message);
    });
    if (ok) {
      done();
      return;
    }
    waitingDrain = () => {
      waitingDrain = undefined;
      w.off('drain', onDrain);
      done();
    };
    const onDrain = () => waitingDrain?.();
    w.once('drain', onDrain);
  };

  const attach = (ep: Endpoint) => {
    inner = ep;
    ep.writable?.on('error', () => {});
    connected = true;
    const pending = held;
    held = [];
    heldBytes = 0;
    if (dropped > 0) log.log('W', `${name}: ${dropped} bytes written while disconnected were dropped (reconnect-buffer=${policy.bufferLimit})`);
    dropped = 0;
    for (const chunk of pending) writeThrough(chunk, () => {});
    if (!sink) return;
    const source = sourceOf(ep);
    innerSource = source;
    source?.start({
      data: (chunk, release) => sink?.data(chunk, release),
      end: () => lost('end of file'),
      error: (err) => lost(err.message),
    });
    if (paused) source?.pause();
  };

  const reconnect = async () => {
    let pause = policy.interval;
    for (let attempt = 1; ; attempt++) {
      await sleep(pause, signal);
      if (closed || signal.aborted) return;
      try {
        const ep = await connect();
        if (closed) {
          await ep.close();
          return;
        }
        log.log('N', `${name}: reconnected after ${attempt} attempt(s)`);
        attach(ep);
        return;
      } catch (err) {
        log.log('I', `${name}: reconnect attempt ${attempt}: ${(err as Error).message}`);
        if (attempt >= policy.attempts) {
          sink?.error(new TsocatError(`${name}: not reconnected after ${attempt} attempt(s): ${(err as Error).message}`, 'ERECONNECT'));
          return;
        }
        pause = Math.min(pause * 2, MAX_PAUSE_S);
      }
    }
  };

  function lost(reason: string): void {
    if (closed || !connected) return;
    connected = false;
    waitingDrain?.();
    log.log('W', `${name}: connection lost (${reason}), reconnecting`);
    innerSource?.stop();
    innerSource = undefined;
    void inner.close();
    void reconnect();
  }

  const source: ChunkSource = {
    start(s) {
      sink = s;
      attach(inner);
    },
    pause() {
      paused = true;
      innerSource?.pause();
    },
    resume() {
      paused = false;
      innerSource?.resume();
    },
    stop() {
      sink = undefined;
      innerSource?.stop();
    },
  };

  const writable = new Writable({
    write: (chunk: Buffer, _enc, cb) => writeThrough(chunk, () => cb()),
    final: (cb) => {
      inner.shutdownWrite();
      cb();
    },
  });

  return makeEndpoint({
    source,
    writable,
    description: name,
    datagram: first.datagram,
    connectionInfo: first.connectionInfo,
    shutdownWrite: () => writable.end(),
    close: async () => {
      if (closed) return;
      closed = true;
      innerSource?.stop();
      // a reconnect under way sees `closed` and closes what it got
      await inner.close();
    },
  });
}
