/**
 * Moves one direction's data from a Readable to a Writable with backpressure.
 * Conversions and dumps are composed only when asked for, so the plain case is
 * read → write and nothing else.
 */
import type { Readable, Writable } from 'node:stream';
import { TsocatError, strerror, type SystemError } from '../errors.js';
import { type PastEofReader, readPastEof } from './past-eof.js';

export interface DirectionPlan {
  /** Stop after this many bytes, as if the source had ended (readbytes). */
  readBytes?: number;
  /** A byte that ends the direction as if the source had ended; it is not passed on. */
  escape?: number;
  /** Cut blocks to at most this size (-b given, or dumps on). */
  blockSize?: number;
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

function ioError(call: string, name: string, err: unknown): TsocatError {
  return new TsocatError(`${call}(${name}): ${strerror(err as SystemError)}`, (err as SystemError)?.code ?? 'EIO', { cause: err });
}

const EMPTY = Buffer.alloc(0);

/**
 * Pumps until the source ends (or readbytes is reached). Resolves, never
 * rejects: the outcome says whether it ended cleanly. `stop()` detaches;
 * `endOnEof()` says the relay is closing, so end of file now ends this
 * direction even with ignoreeof (as in socat).
 */
export function pumpDirection(source: Readable, target: Writable, plan: DirectionPlan): { done: Promise<DirectionEnd>; stop: () => void; endOnEof: () => void } {
  let finish!: (end: DirectionEnd) => void;
  const done = new Promise<DirectionEnd>((resolve) => {
    finish = resolve;
  });
  let remaining = plan.readBytes ?? Number.POSITIVE_INFINITY;
  let waitingForDrain = false;
  const simple = plan.readBytes === undefined && plan.escape === undefined && !plan.blockSize && !plan.convert && plan.observers.length === 0 && !plan.onActivity;

  // where data comes from: the stream, or after its end with ignoreeof the descriptor itself
  let input: { pause(): void; resume(): void } = source;
  let pastEof: PastEofReader | undefined;
  const onDrain = () => {
    waitingForDrain = false;
    input.resume();
  };
  const writeBlock = (block: Buffer): boolean => {
    const data = plan.convert ? plan.convert(block) : block;
    if (data.length === 0) return true;
    for (const observe of plan.observers) observe(data);
    return target.write(data);
  };
  const onData = (chunk: Buffer) => {
    let ok: boolean;
    if (simple) {
      ok = target.write(chunk);
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
      ok = true;
      const size = plan.blockSize;
      if (size && data.length > size) {
        for (let at = 0; at < data.length; at += size) ok = writeBlock(data.subarray(at, at + size)) && ok;
      } else {
        ok = writeBlock(data);
      }
      if (remaining <= 0) {
        cleanup();
        finish({ kind: 'eof' });
        return;
      }
    }
    if (!ok && !waitingForDrain) {
      waitingForDrain = true;
      input.pause();
      target.once('drain', onDrain);
    }
  };
  let eofIsFinal = !plan.ignoreEof;
  const onEnd = () => {
    source.off('data', onData);
    if (!eofIsFinal && plan.ignoreEof) {
      pastEof = readPastEof(plan.ignoreEof.fd, plan.ignoreEof.size, { data: onData, error: onReadError, end: atEof });
      input = pastEof;
      if (waitingForDrain) pastEof.pause();
      return;
    }
    atEof();
  };
  const atEof = () => {
    if (target.writableLength === 0 || target.destroyed) {
      cleanup();
      finish({ kind: 'eof' });
      return;
    }
    // Writes still in flight may yet fail (EBADF, EPIPE); socat writes
    // synchronously and reports that, so the direction ends only once they land.
    target.write(EMPTY, (err) => {
      cleanup();
      finish(err ? { kind: 'error', error: ioError('write', plan.targetName, err) } : { kind: 'eof' });
    });
  };
  const onReadError = (err: Error) => {
    cleanup();
    finish({ kind: 'error', error: ioError('read', plan.sourceName, err) });
  };
  const onWriteError = (err: Error) => {
    cleanup();
    finish({ kind: 'error', error: ioError('write', plan.targetName, err) });
  };
  const cleanup = () => {
    source.off('data', onData);
    source.off('end', onEnd);
    source.off('error', onReadError);
    target.off('error', onWriteError);
    target.off('drain', onDrain);
    source.pause();
    pastEof?.stop();
  };
  source.on('data', onData);
  source.once('end', onEnd);
  source.once('error', onReadError);
  target.once('error', onWriteError);
  if (remaining <= 0) onEnd();
  else source.resume();
  const endOnEof = () => {
    eofIsFinal = true;
    pastEof?.eofIsFinal();
  };
  return { done, stop: cleanup, endOnEof };
}
