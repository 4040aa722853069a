/**
 * Moves one direction's data from a Readable to a Writable with backpressure.
 * Conversions and dumps are composed only when asked for, so the plain case is
 * read → write and nothing else.
 */
import type { Readable, Writable } from 'node:stream';
import { TsocatError, strerror, type SystemError } from '../errors.js';

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

/**
 * Pumps until the source ends (or readbytes is reached). Resolves, never
 * rejects: the outcome says whether it ended cleanly. `stop()` detaches.
 */
const EMPTY = Buffer.alloc(0);

export function pumpDirection(source: Readable, target: Writable, plan: DirectionPlan): { done: Promise<DirectionEnd>; stop: () => void } {
  let finish!: (end: DirectionEnd) => void;
  const done = new Promise<DirectionEnd>((resolve) => {
    finish = resolve;
  });
  let remaining = plan.readBytes ?? Number.POSITIVE_INFINITY;
  let waitingForDrain = false;
  const simple = plan.readBytes === undefined && plan.escape === undefined && !plan.blockSize && !plan.convert && plan.observers.length === 0 && !plan.onActivity;

  const onDrain = () => {
    waitingForDrain = false;
    source.resume();
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
      source.pause();
      target.once('drain', onDrain);
    }
  };
  const onEnd = () => {
    source.off('data', onData);
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
  };
  source.on('data', onData);
  source.once('end', onEnd);
  source.once('error', onReadError);
  target.once('error', onWriteError);
  if (remaining <= 0) onEnd();
  else source.resume();
  return { done, stop: cleanup };
}
