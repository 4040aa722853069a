/**
 * Moves one direction's data from a source to a Writable with backpressure.
 * Conversions and dumps are composed only when asked for, so the plain case is
 * read → write and nothing else.
 *
 * Each chunk is written with one write() (or, with -b and a stream, one per
 * block; without -b a stream's writes of one event-loop turn are corked into
 * one writev) and its buffer is released to the source once the last of those
 * writes has finished, so a source may reuse it. A datagram direction keeps
 * every message whole: -b, readbytes and escape cut a message short (socat
 * reads at most -b bytes of a datagram; the rest is gone) but never split or
 * join messages.
 */
import type { Writable } from 'node:stream';
import { type SystemError, strerror, TsocatError } from '../../errors.js';
import { type PastEofReader, readPastEof } from '../descriptors/past-eof.js';
import type { ChunkSource } from '../source.js';

export interface DirectionPlan {
  /** Stop after this many bytes, as if the source had ended (readbytes). */
  readBytes?: number;
  /** A byte that ends the direction as if the source had ended; it is not passed on. */
  escape?: number;
  /** Cut blocks to at most this size (-b given, or dumps on); a datagram is cut short instead. */
  blockSize?: number;
  /** The source delivers messages: one chunk is one write, whatever happens to it on the way. */
  datagram?: boolean;
  /** Line-end conversion (cr, crnl). */
  convert?: (data: Buffer) => Buffer;
  /** Observers of each block as written: dumps, raw copies, statistics. */
  observers: Array<(data: Buffer) => void>;
  /**
   * socat's ignoreeof: end of file is "no data yet". Reading goes on from this
   * descriptor (undefined: nothing can follow, so the direction just never ends),
   * `size` bytes at a time.
   */
  ignoreEof?: { fd: number | undefined; size: number };
  /** Called on every block, for the inactivity timer. */
  onActivity?: () => void;
  /** Names for error messages. */
  sourceName: string;
  targetName: string;
}

export type DirectionEnd = { kind: 'eof' } | { kind: 'error'; error: TsocatError };

/** A failed read or write as socat words it: `read(<name>): <strerror>`. */
export function ioError(call: string, name: string, err: unknown): TsocatError {
  return new TsocatError(`${call}(${name}): ${strerror(err as SystemError)}`, (err as SystemError)?.code ?? 'EIO', { cause: err });
}

const nothing = () => {};

/** The most a direction holds corked before writing it out, turn over or not. */
const CORKED_MAX = 256 * 1024;

/**
 * Pumps until the source ends (or readbytes is reached). Resolves, never
 * rejects: the outcome says whether it ended cleanly. `stop()` detaches;
 * `endOnEof()` says the relay is closing, so end of file now ends this
 * direction even with ignoreeof (as in socat).
 */
export function pumpDirection(source: ChunkSource, target: Writable, plan: DirectionPlan): { done: Promise<DirectionEnd>; stop: () => void; endOnEof: () => void } {
  let finish!: (end: DirectionEnd) => void;
  const done = new Promise<DirectionEnd>((resolve) => {
    finish = resolve;
  });
  let remaining = plan.readBytes ?? Number.POSITIVE_INFINITY;
  let waitingForDrain = false;
  const simple = plan.readBytes === undefined && plan.escape === undefined && !plan.blockSize && !plan.convert && plan.observers.length === 0 && !plan.onActivity;

  // where data comes from: the source, or after its end with ignoreeof the descriptor itself
  let input: { pause(): void; resume(): void } = source;
  let pastEof: PastEofReader | undefined;
  const onDrain = () => {
    waitingForDrain = false;
    input.resume();
  };
  // writes not yet finished: the direction ends only once they have landed (or failed)
  let inFlight = 0;
  let writeFailure: Error | undefined;
  let allWritten: (() => void) | undefined;
  const write = (data: Buffer, release: () => void): boolean => {
    inFlight++;
    return target.write(data, (err?: Error | null) => {
      release();
      inFlight--;
      if (err) writeFailure ??= err;
      if (inFlight === 0) allWritten?.();
    });
  };
  /** Writes one block; `release` goes with the write, to run once the target is done with the memory. */
  const writeBlock = (block: Buffer, release: () => void): boolean => {
    const data = plan.convert ? plan.convert(block) : block;
    // a converted copy (or nothing) goes out: the source's buffer is free at once
    if (data !== block || data.length === 0) release();
    if (data.length === 0) return true;
    for (const observe of plan.observers) observe(data);
    return write(data, data === block ? release : nothing);
  };
  // A stream's chunks that arrive in one turn of the event loop (a TLS socket emits each
  // 16 KiB record it decrypts from one read on its own) go out corked, as one writev at the
  // end of the turn; whether to wait for 'drain' is decided then, on what is still queued.
  // (-b keeps each block its own write, and a datagram direction each message)
  // (at most CORKED_MAX bytes wait, so a source's buffers return to it at a steady pace)
  const coalesce = !plan.datagram && !plan.blockSize;
  let corked = false;
  let corkedBytes = 0;
  const uncorkTurn = () => {
    if (!corked) return;
    corked = false;
    corkedBytes = 0;
    target.uncork();
    if (target.writableLength >= target.writableHighWaterMark) holdForDrain();
  };
  const onData = (chunk: Buffer, release: () => void) => {
    let ok: boolean;
    if (coalesce && !corked) {
      corked = true;
      target.cork();
      setImmediate(uncorkTurn);
    }
    corkedBytes += chunk.length;
    if (simple) {
      ok = write(chunk, release);
    } else {
      plan.onActivity?.();
      let data = chunk;
      const escapeAt = plan.escape === undefined ? -1 : data.indexOf(plan.escape);
      if (escapeAt >= 0) {
        data = data.subarray(0, escapeAt);
        remaining = Math.min(remaining, data.length);
      }
      if (data.length >= remaining) data = data.subarray(0, remaining);
      remaining -= data.length;
      const size = plan.blockSize;
      if (size && data.length > size && plan.datagram) data = data.subarray(0, size);
      if (size && data.length > size) {
        ok = true;
        for (let at = 0; at < data.length; at += size) {
          const last = at + size >= data.length;
          ok = writeBlock(data.subarray(at, at + size), last ? release : nothing) && ok;
        }
      } else {
        ok = writeBlock(data, release);
      }
      if (remaining <= 0) {
        cleanup();
        atEof();
        return;
      }
    }
    if (corked && corkedBytes >= CORKED_MAX) uncorkTurn();
    else if (!ok && !corked) holdForDrain();
  };
  function holdForDrain(): void {
    if (waitingForDrain) return;
    waitingForDrain = true;
    input.pause();
    target.once('drain', onDrain);
  }
  let eofIsFinal = !plan.ignoreEof;
  const onEnd = () => {
    if (!eofIsFinal && plan.ignoreEof) {
      pastEof = readPastEof(plan.ignoreEof.fd, plan.ignoreEof.size, { data: (d) => onData(d, nothing), error: onReadError, end: atEof });
      input = pastEof;
      if (waitingForDrain) pastEof.pause();
      return;
    }
    atEof();
  };
  let ending = false;
  const atEof = () => {
    if (ending) return;
    ending = true;
    source.stop();
    // Writes still in flight may yet fail (EBADF, EPIPE); socat writes
    // synchronously and reports that, so the direction ends only once they land.
    const conclude = () => {
      cleanup();
      finish(writeFailure ? { kind: 'error', error: ioError('write', plan.targetName, writeFailure) } : { kind: 'eof' });
    };
    if (inFlight === 0 || target.destroyed) conclude();
    else allWritten = conclude;
  };
  const onReadError = (err: Error) => {
    cleanup();
    finish({ kind: 'error', error: ioError('read', plan.sourceName, err) });
  };
  const onWriteError = (err: Error) => {
    // a socket is one object for both directions: a reset met while reading it, with no
    // write of ours pending, is the other direction's (socat's W line), not a failed write.
    // Node fails the pending writes' callbacks before it emits 'error', so a write that
    // failed (or a drain still awaited) makes the reset ours
    if (inFlight === 0 && !writeFailure && !waitingForDrain && (err as NodeJS.ErrnoException).code === 'ECONNRESET') {
      target.once('error', onWriteError);
      return;
    }
    cleanup();
    finish({ kind: 'error', error: ioError('write', plan.targetName, err) });
  };
  let beginOnDrain: (() => void) | undefined;
  const waitToBegin = (begin: () => void) => {
    beginOnDrain = () => {
      beginOnDrain = undefined;
      begin();
    };
    target.once('drain', beginOnDrain);
  };
  const cleanup = () => {
    source.stop();
    if (corked) {
      corked = false;
      target.uncork();
    }
    target.off('error', onWriteError);
    target.off('drain', onDrain);
    if (beginOnDrain) target.off('drain', beginOnDrain);
    pastEof?.stop();
  };
  target.once('error', onWriteError);
  const begin = () => source.start({ data: onData, end: onEnd, error: onReadError });
  if (remaining <= 0) onEnd();
  // socat reads a side only when the other can take what it reads: a target that cannot yet (STALL never can)
  // leaves the bytes where they are, for whoever reads them next
  else if (target.writableNeedDrain) waitToBegin(begin);
  else begin();
  const endOnEof = () => {
    eofIsFinal = true;
    pastEof?.eofIsFinal();
  };
  return { done, stop: cleanup, endOnEof };
}
