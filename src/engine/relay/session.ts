/**
 * One relay between two open endpoints: pumps the active directions, handles
 * half-close and the -t / -T timers, then closes both and yields an exit status
 * (0 clean, 1 error, as socat).
 */
import { getEventListeners } from 'node:events';
import type { WriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { makeDumper } from '../../log/dump.js';
import { type Logger, monotonicMs, nowMicros } from '../../log/logger.js';
import { onAbort } from '../abort.js';
import { connectionEnvironment } from '../programs/connection-env.js';
import type { RelaySettings } from '../context.js';
import { type ChildExit, type Endpoint, readDescriptorOf, readsFrom, sourceOf } from '../endpoint.js';
import { lineTermConverter } from './lineterm.js';
import { type DirectionEnd, type DirectionPlan, pumpDirection } from './pump.js';
import { openSniffFile } from './sniff-path.js';
import { batchRelay, batchRefusal } from './kernel/datagram-batch.js';
import { type KernelRelay, kernelRelay, spliceRefusal } from './kernel/splice.js';
import type { ChunkSource } from '../source.js';
import { type EndReason, type ErrorKind, type SessionCounts, type SessionSummary, Statistics } from './statistics.js';

const noop = () => {};

export interface SessionOptions {
  settings: RelaySettings;
  log: Logger;
  stats?: Statistics;
  /** Ends the session early (signal, relay closing). */
  signal?: AbortSignal;
  /** Winds the session down (its relay is being stopped gently): it ends as after one side's end of file, within -t seconds. */
  windDown?: AbortSignal;
}

interface Direction {
  leftToRight: boolean;
  from: Endpoint;
  to: Endpoint;
}

function activeDirections(left: Endpoint, right: Endpoint, settings: RelaySettings): Direction[] {
  const out: Direction[] = [];
  if (settings.direction !== 'right-to-left' && readsFrom(left) && right.writable) out.push({ leftToRight: true, from: left, to: right });
  // `- -` reads one stdin through both addresses: socat reads it once, so only one direction may own it.
  const sameSource = right.readable !== undefined && right.readable === left.readable && out.length > 0;
  if (settings.direction !== 'left-to-right' && readsFrom(right) && left.writable && !sameSource) out.push({ leftToRight: false, from: right, to: left });
  return out;
}

function planFor(dir: Direction, opts: SessionOptions, raw: WriteStream | undefined, counts: SessionCounts | undefined, onActivity?: () => void): DirectionPlan {
  const { settings } = opts;
  const observers: Array<(d: Buffer) => void> = [];
  // the file write finishes later, and the source may reuse its buffer by then: the sniff file gets a copy
  if (raw) observers.push((d) => raw.write(Buffer.from(d)));
  if (settings.verbose || settings.hexDump) {
    observers.push(makeDumper(settings.verbose && settings.hexDump ? 'both' : settings.verbose ? 'text' : 'hex', dir.leftToRight));
  }
  if (counts) {
    const count = counts.byteCounter(dir.leftToRight);
    observers.push((d) => count(d.length));
  }
  const convert = lineTermConverter(dir.from.appl?.readLineTerm ?? 'raw', dir.to.appl?.writeLineTerm ?? 'raw') ?? undefined;
  // socat reads at most -b bytes per read: a stream is cut into blocks only when asked, a datagram is always cut short
  const cut = settings.blockSizeGiven || settings.verbose || settings.hexDump || dir.from.datagram === true;
  return {
    readBytes: dir.from.appl?.readBytes,
    escape: dir.from.appl?.escape,
    ignoreEof: dir.from.appl?.ignoreEof ? { fd: dir.from.readFd, size: settings.blockSize } : undefined,
    blockSize: cut ? settings.blockSize : undefined,
    datagram: dir.from.datagram,
    convert,
    observers,
    onActivity,
    sourceName: dir.from.description,
    targetName: dir.to.description,
  };
}

function quiet(stream: Readable | Writable | undefined): void {
  // errors are reported through the pump; an unheard 'error' event must never crash the relay
  stream?.on('error', noop);
}

/** socat's SIGCHLD report: a program that failed is a warning and makes the exit status 1. */
function reportChildExit(exit: ChildExit, log: Logger): boolean {
  if (exit.signal) {
    log.log('W', `waitpid(): child ${exit.pid} exited on signal ${signalNumber(exit.signal)}`);
    return false;
  }
  if (exit.code !== 0) {
    log.log('W', `waitpid(): child ${exit.pid} exited with status ${exit.code}`);
    return false;
  }
  log.log('I', `waitpid(): child ${exit.pid} exited with status 0`);
  return true;
}

/** Waits up to `seconds` for a program that is about to end, so its status is not lost to a race with its output's EOF. */
function settledWithin<T>(promise: Promise<T>, seconds: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), seconds * 1000);
    }),
  ]).finally(() => clearTimeout(timer));
}

import { constants } from 'node:os';

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

/** A write that failed because the reader went away: what cool-write makes quiet. */
function isPeerGone(error: Error): boolean {
  const code = (error as { code?: string }).code;
  return error.message.startsWith('write(') && (code === 'EPIPE' || code === 'ECONNRESET');
}

/** A read that failed because the peer reset the connection: socat warns and takes it as end of file. */
function isResetOnRead(error: Error): boolean {
  return error.message.startsWith('read(') && (error as { code?: string }).code === 'ECONNRESET';
}

/**
 * The zero-copy path (splice.ts), or for datagram sockets the batched path
 * (datagram-batch.ts), when every direction qualifies, else undefined for the
 * buffered one; one N line says which and why.
 */
function zeroCopyPath(directions: Direction[], settings: RelaySettings, log: Logger): KernelRelay | undefined {
  const datagrams = directions.length > 0 && directions.every((d) => d.from.datagram && d.to.datagram);
  const refusal = datagrams ? batchRefusal(directions, settings) : spliceRefusal(directions, settings);
  if (refusal === undefined) {
    try {
      const kernel = datagrams ? batchRelay(directions, settings) : kernelRelay(directions, settings);
      log.log('N', `data path: ${datagrams ? 'datagram batches (recvmmsg, sendmmsg)' : 'zero-copy (splice)'}`);
      return kernel;
    } catch (err) {
      log.log('N', `data path: buffers (${datagrams ? 'batches' : 'splice'} not set up: ${(err as Error).message})`);
      return undefined;
    }
  }
  if (directions.length > 0) log.log('N', `data path: buffers (${refusal})`);
  return undefined;
}

/** Relays between two endpoints until done; resolves with the exit status. Never rejects. */
export async function runSession(left: Endpoint, right: Endpoint, opts: SessionOptions): Promise<number> {
  const { settings, log } = opts;
  for (const ep of [left, right]) {
    quiet(ep.readable);
    quiet(ep.writable);
  }
  // socat opens both sniff files for every session, whichever directions run; one clock reading names both
  const program = log.config.program;
  let names: { vars: Record<string, string | undefined>; clock: ReturnType<typeof nowMicros> } | undefined;
  const sniff = (flag: '-r' | '-R', template: string | undefined) => {
    if (!template) return undefined;
    // copying process.env costs a call into C++ per variable: only for sessions that name sniff files
    names ??= { vars: { ...process.env, ...connectionEnvironment(program, left.connectionInfo ?? right.connectionInfo) }, clock: nowMicros() };
    return openSniffFile(flag, template, names.vars, program, names.clock, log);
  };
  const rawLeftToRight = sniff('-r', settings.rawLeftToRight);
  const rawRightToLeft = sniff('-R', settings.rawRightToLeft);
  const raws = [rawLeftToRight, rawRightToLeft].filter((s): s is WriteStream => s !== undefined);
  for (const s of raws) quiet(s);
  const rawFor = (ltr: boolean) => (ltr ? rawLeftToRight : rawRightToLeft);

  // bytes per session are counted for the relay's counters and for the JSON session line
  const counts = opts.stats?.openSession() ?? (log.config.format === 'json' ? new Statistics().openSession() : undefined);
  let status = 0;
  let inactivity: NodeJS.Timeout | undefined;
  let reason: EndReason | undefined;
  let failure: Error | undefined;
  let settle!: () => void;
  const ended = new Promise<void>((r) => {
    settle = r;
  });
  /** The session ends, for the first reason given. */
  const endFor = (why: EndReason) => {
    reason ??= why;
    settle();
  };
  const armInactivity = settings.inactivityTimeout > 0
    ? () => {
        clearTimeout(inactivity);
        inactivity = setTimeout(() => {
          log.log('N', `inactivity timeout triggered`);
          endFor('inactivity');
        }, settings.inactivityTimeout * 1000);
      }
    : undefined;
  armInactivity?.();

  const directions = activeDirections(left, right, settings);
  const kernel = zeroCopyPath(directions, settings, log);
  const pumps = directions.map((dir) => ({
    dir,
    pump: kernel
      ? kernel.direction(dir, { onActivity: armInactivity, count: counts?.byteCounter(dir.leftToRight), sourceName: dir.from.description, targetName: dir.to.description })
      : pumpDirection(sourceOf(dir.from) as ChunkSource, dir.to.writable as Writable, planFor(dir, opts, rawFor(dir.leftToRight), counts, armInactivity)),
  }));

  // socat's end-of-file notice names the descriptor read; a Node socket may have let go of its handle by then
  const readFds = log.enabled('N') ? new Map(directions.map((dir) => [dir, readDescriptorOf(dir.from)])) : undefined;

  let closeTimer: NodeJS.Timeout | undefined;
  // socat's "closing" state: one side is done; the rest gets -t seconds to finish
  const startClosing = () => {
    closeTimer ??= setTimeout(() => endFor('close-timeout'), settings.closeTimeout * 1000);
    left.ending?.();
    right.ending?.();
    for (const { pump } of pumps) pump.endOnEof();
  };
  let remaining = pumps.length;
  const childGone = new Set<Endpoint>();
  const onDirectionEnd = async (dir: Direction, end: DirectionEnd) => {
    remaining--;
    // Writing to a program that has ended is the end of that direction, not an error: socat stops
    // writing on SIGCHLD. The EPIPE can arrive just before the exit event, so give the exit a moment.
    const writeToProgram = end.kind === 'error' && end.error.message.startsWith('write(') && dir.to.exited !== undefined;
    if (writeToProgram && !childGone.has(dir.to)) await settledWithin(dir.to.exited as Promise<ChildExit>, 0.5);
    if (end.kind === 'error' && dir.to.appl?.coolWrite && isPeerGone(end.error)) {
      log.log('N', end.error.message);
      endFor('peer-gone');
      return;
    }
    // as socat: a connection reset met while reading is a warning and that direction's end of file
    if (end.kind === 'error' && isResetOnRead(end.error)) {
      log.log('W', end.error.message);
      end = { kind: 'eof' };
    }
    if (end.kind === 'error' && !(writeToProgram && childGone.has(dir.to))) {
      log.log('E', end.error.message);
      status = 1;
      failure = end.error;
      endFor('error');
      return;
    }
    if (readFds) log.log('N', `socket ${dir.leftToRight ? 1 : 2} (fd ${readFds.get(dir)}) is at EOF`);
    log.log('I', `${dir.leftToRight ? 'left to right' : 'right to left'}: end of file, shutting down the other side's write`);
    dir.to.shutdownWrite();
    if (remaining === 0) endFor('eof');
    else startClosing();
  };
  let sessionOver = false;
  const reported = new Set<Endpoint>();
  for (const ep of [left, right]) {
    void ep.exited?.then((exit) => {
      childGone.add(ep);
      if (sessionOver) return;
      reported.add(ep);
      if (!reportChildExit(exit, log)) status = 1;
      // socat: with ignoreeof a program's end is no reason to close either; its output may simply stay quiet
      if (!ep.appl?.ignoreEof) startClosing();
    });
  }
  for (const { dir, pump } of pumps) void pump.done.then((end) => onDirectionEnd(dir, end));
  if (pumps.length === 0) endFor('eof');
  const stopListening = onAbort(opts.signal, () => endFor('stopped'));
  const stopWindingDown = onAbort(opts.windDown, () => {
    reason ??= 'stopped';
    log.log('I', `relay stopping: the session ends within ${settings.closeTimeout} s (-t)`);
    startClosing();
  });
  if (opts.signal && log.enabled('D')) log.log('D', `relaying; ${getEventListeners(opts.signal, 'abort').length} abort listeners on the relay's signal`);

  await ended;
  stopListening();
  stopWindingDown();
  clearTimeout(closeTimer);
  clearTimeout(inactivity);
  for (const { pump } of pumps) pump.stop();
  // the zero-copy path's duplicate descriptors go before the addresses close theirs
  await kernel?.release();

  // A program whose output just ended is usually exiting: wait briefly so its status counts.
  for (const ep of [left, right]) {
    if (!ep.exited || reported.has(ep)) continue;
    const exit = await settledWithin(ep.exited, Math.min(settings.closeTimeout, 0.5));
    if (exit && !reported.has(ep)) {
      reported.add(ep);
      if (!reportChildExit(exit, log)) status = 1;
    }
  }
  sessionOver = true;
  await Promise.all([left.close(), right.close()]);
  await Promise.all(raws.map((s) => new Promise((r) => s.end(r))));
  if (counts) reportEnd(left, counts, { reason: reason ?? 'eof', status, failure }, opts);
  return status;
}

/** Which kind of error ended a session, for the errors counter: a failed read or write, or a program that failed. */
function errorKindOf(status: number, failure: Error | undefined): ErrorKind | undefined {
  if (failure) return failure.message.startsWith('write(') ? 'write' : 'read';
  return status !== 0 ? 'program' : undefined;
}

/** The peer a session served, as logs name it: the address and port a socket reports, else address 1's description. */
function peerOf(left: Endpoint): string {
  const info = left.connectionInfo;
  if (info?.PEERADDR) return info.PEERPORT ? `${info.PEERADDR}:${info.PEERPORT}` : info.PEERADDR;
  return left.description;
}

/** The session's end: its relay's counters, and with --log-format json one line with what it moved (sniproxy's connection log). */
function reportEnd(left: Endpoint, counts: SessionCounts, end: { reason: EndReason; status: number; failure?: Error }, opts: SessionOptions): void {
  opts.stats?.closeSession(errorKindOf(end.status, end.failure));
  if (opts.log.config.format !== 'json') return;
  const summary: SessionSummary = {
    peer: peerOf(left),
    durationMs: Math.round(monotonicMs() - counts.started),
    bytesLeftToRight: counts.leftToRight,
    bytesRightToLeft: counts.rightToLeft,
    reason: end.reason,
    status: end.status,
    ...(end.failure ? { error: end.failure.message } : {}),
  };
  opts.log.always('N', 'session ended', { event: 'session-end', ...summary });
}
