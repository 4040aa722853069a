/**
 * The zero-copy bulk path: when no one needs a relay's bytes in JavaScript
 * (no dump, no raw copy, no conversion, no byte limit or escape, no
 * ignoreeof) and both addresses are plain stream sockets, each direction moves
 * its bytes with splice(2), socket → pipe → socket, and they never leave the
 * kernel. Anything else keeps the source contract (pump.ts).
 *
 * Nothing waits: every descriptor is non-blocking, splice is called with
 * SPLICE_F_NONBLOCK, and readiness comes from the event loop (src/sys/poll.ts).
 * Each address is watched through a duplicate of its descriptor, so Node's own
 * handle for it (which still shuts its write side down and closes it) is never
 * confused with the watch. A direction holds a pipe (from a shared pool) only
 * while its source is readable or bytes are in it, and reads only while that pipe can take more
 * and its target keeps up: a slow reader leaves the bytes in the sender's
 * socket (back-pressure), and one session's stalled peer never holds up another.
 */
import { DescriptorWatch, UV_READABLE, UV_WRITABLE } from '../../../sys/poll.js';
import { closeDescriptor, spliceBytes } from '../../../sys/sockets.js';
import { duplicateDescriptor, makePipe, setNonBlocking, setPipeSize } from '../../../sys/libc.js';
import type { RelaySettings } from '../../context.js';
import type { Endpoint } from '../../endpoint.js';
import { type DirectionEnd, ioError } from '../pump.js';

/** The most one splice moves: the pipe's own capacity (64 KiB by default) bounds it first. */
const SPLICE_LEN = 1 << 20;
/**
 * A splice in that moved less than this found the socket drained: the pipe had
 * room for more (16 slots of at least a page when empty). Taking it as dry saves
 * a request/response relay one splice per message; if more bytes came meanwhile,
 * the (level-triggered) watch says so at once.
 */
const DRAINED_BELOW = 16 << 10;
/** Rounds (a read into the pipe and a write out of it) before a busy direction lets other sessions run. */
const ROUNDS_PER_TURN = 16;
/**
 * A bulk direction's pipe grows to 1 MiB (Linux's default pipe-max-size) once it
 * has moved this much: a 64 KiB pipe cost 0.6 CPU s/GB TCP to TCP, a 1 MiB one
 * 0.3. Pipes beyond their default size count against the user's
 * pipe-user-pages-soft (64 MiB by default), and past it the kernel gives every
 * new pipe of that user (not only ours) 2 pages: so only busy directions grow,
 * and the process keeps 16 MiB of grown pipes at most.
 */
const BULK_BYTES = 4 << 20;
const GROWN_PIPE = 1 << 20;
const GROWN_BUDGET = 16 << 20;
/** Bytes of grown pipes open in the process, in use or spare: a grown pipe keeps its size (and its share) until closed. */
let grownTotal = 0;

/**
 * A pipe of the process-wide pool. A direction takes one only when its source
 * is readable and gives it back once it is empty and the direction waits for
 * its source again: an idle session holds no pipe (an up-front pipe per
 * direction made 4 of an idle TCP↔TCP session's 8 descriptors).
 */
interface PooledPipe {
  read: number;
  write: number;
  /** Bytes this pipe counts in grownTotal (0 at the default size). */
  grown: number;
  /** The kernel refused to grow it (the user's pipe budget is spent): not asked again. */
  refused?: boolean;
}
/** Empty pipes kept for the next direction to take; beyond this a returned pipe is closed. */
const SPARE_MAX = 16;
const spare: PooledPipe[] = [];

/**
 * An empty pipe: a spare one, grown if the direction is a bulk one and one is
 * spare (else ungrown if one is), or a new one. Throws when the kernel refuses.
 */
function takePipe(bulk: boolean): PooledPipe {
  let i = spare.length - 1;
  while (i > 0 && (spare[i] as PooledPipe).grown > 0 !== bulk) i--;
  const [pipe] = spare.splice(i, 1);
  if (pipe) return pipe;
  const [read, write] = makePipe(true);
  return { read, write, grown: 0 };
}

/** Gives an empty pipe back; one that may still hold bytes is closed, never handed to another session. */
function givePipe(pipe: PooledPipe, empty: boolean): void {
  if (empty && spare.length < SPARE_MAX) {
    spare.push(pipe);
    return;
  }
  grownTotal -= pipe.grown;
  closeDescriptor(pipe.read);
  closeDescriptor(pipe.write);
}

/** Grows a busy direction's pipe to GROWN_PIPE while the budget allows; a refusal keeps the default size. */
function growPipe(pipe: PooledPipe): void {
  if (pipe.grown > 0 || pipe.refused || grownTotal + GROWN_PIPE > GROWN_BUDGET) return;
  try {
    setPipeSize(pipe.write, GROWN_PIPE);
  } catch {
    pipe.refused = true; // the user's pipe budget is spent: the default size still works
    return;
  }
  pipe.grown = GROWN_PIPE;
  grownTotal += GROWN_PIPE;
}

/** How long a direction waits before trying again when the kernel refused it a pipe (out of descriptors). */
const PIPE_RETRY_MS = 50;

/** One address seen by the zero-copy path (and the batched datagram path): a duplicate of its descriptor and one watch on it for both directions. */
export class KernelEnd {
  readonly fd: number;
  private readonly watch: DescriptorWatch;
  private onReadable: (() => void) | undefined;
  private onWritable: (() => void) | undefined;
  private dispatching = false;

  constructor(fd: number) {
    this.fd = duplicateDescriptor(fd);
    try {
      // libuv made the description non-blocking already; a splice into a blocking socket would wait in the kernel
      setNonBlocking(this.fd, true);
      // direct: the steps run inside libuv's callback (they queue no microtasks: a direction's end is handed to a setImmediate)
      this.watch = new DescriptorWatch(this.fd, (status, events) => {
        // an error status: the splice that follows says what went wrong
        const ready = status < 0 ? UV_READABLE | UV_WRITABLE : events;
        const reader = ready & UV_READABLE ? this.onReadable : undefined;
        const writer = ready & UV_WRITABLE ? this.onWritable : undefined;
        if (reader) this.onReadable = undefined;
        if (writer) this.onWritable = undefined;
        // the watch is changed once, after both steps: a step that waits for the same event again
        // leaves it as it is (uv_poll_start costs two epoll_ctl calls, uv_poll_stop one)
        this.dispatching = true;
        try {
          reader?.();
          writer?.();
        } finally {
          this.dispatching = false;
          this.update();
        }
        // no hang-up watch: a peer's end of file arrives as readable, an error as both (see DescriptorWatch)
      }, false, true);
    } catch (err) {
      closeDescriptor(this.fd);
      throw err;
    }
  }

  /** Calls `then` once the descriptor can be read (or has failed); undefined stops waiting. */
  whenReadable(then: (() => void) | undefined): void {
    this.onReadable = then;
    this.update();
  }

  whenWritable(then: (() => void) | undefined): void {
    this.onWritable = then;
    this.update();
  }

  private update(): void {
    if (this.dispatching) return;
    this.watch.want((this.onReadable ? UV_READABLE : 0) | (this.onWritable ? UV_WRITABLE : 0));
  }

  async close(): Promise<void> {
    this.onReadable = undefined;
    this.onWritable = undefined;
    await this.watch.close();
    closeDescriptor(this.fd);
  }
}

export interface SpliceDirection {
  done: Promise<DirectionEnd>;
  stop: () => void;
  /** The pump's hook for ignoreeof, which never takes this path: nothing to do. */
  endOnEof: () => void;
}

/**
 * One direction: splices from `from` into its pipe and from the pipe into
 * `to` until end of file (resolved once the pipe is empty, so the session's
 * shutdown of the target follows the last byte) or a failure, named as the
 * buffered path names it (`read(<source>)`, `write(<target>)`).
 */
function spliceDirection(
  from: KernelEnd,
  to: KernelEnd,
  plan: { readLen: number; sourceName: string; targetName: string; onActivity?: () => void; count?: (bytes: number) => void },
): SpliceDirection {
  let finish!: (end: DirectionEnd) => void;
  const done = new Promise<DirectionEnd>((resolve) => {
    finish = resolve;
  });
  // held only while the source is readable or bytes are in it
  let pipe: PooledPipe | undefined;
  let inPipe = 0;
  let eof = false;
  let over = false;
  let retry: NodeJS.Timeout | undefined;
  // bytes moved until the direction counts as bulk: from then on the pipe it holds is grown
  let untilBulk = BULK_BYTES;
  const end = (outcome: DirectionEnd) => {
    stop();
    // the step may be running inside libuv's poll callback, where the session's promise continuations would not run
    setImmediate(finish, outcome);
  };
  /** Waits for the source; an empty pipe goes back to the pool meanwhile. */
  const waitForSource = () => {
    if (pipe && inPipe === 0) {
      givePipe(pipe, true);
      pipe = undefined;
    }
    from.whenReadable(step);
  };
  const step = () => {
    if (over) return;
    if (!pipe) {
      try {
        pipe = takePipe(untilBulk <= 0);
        if (untilBulk <= 0) growPipe(pipe);
      } catch {
        // out of descriptors: another session's end frees some; the source keeps its bytes meanwhile
        retry = setTimeout(() => {
          retry = undefined;
          step();
        }, PIPE_RETRY_MS);
        return;
      }
    }
    const { read: pipeRead, write: pipeWrite } = pipe;
    let read = false;
    for (let round = 0; round < ROUNDS_PER_TURN; round++) {
      let moved = false;
      // An input that would wait with bytes still in the pipe may only mean the pipe is full:
      // it is tried again once the pipe has drained, and waited for only when the pipe is empty.
      let inputDry = false;
      if (!eof) {
        let n: number | undefined;
        try {
          n = spliceBytes(from.fd, pipeWrite, plan.readLen);
        } catch (err) {
          return end({ kind: 'error', error: ioError('read', plan.sourceName, err) });
        }
        if (n === undefined) inputDry = true;
        else if (n === 0) eof = true;
        else {
          // a short read took all the socket held: once the pipe is empty the direction waits for
          // readability instead of asking again (a splice that would only say EAGAIN); a read
          // that filled -b's block did not
          if (n < DRAINED_BELOW && n < plan.readLen) inputDry = true;
          inPipe += n;
          moved = read = true;
          plan.count?.(n);
          untilBulk -= n;
          if (untilBulk <= 0) growPipe(pipe);
        }
      }
      if (inPipe > 0) {
        let n: number | undefined;
        try {
          n = spliceBytes(pipeRead, to.fd, inPipe);
        } catch (err) {
          return end({ kind: 'error', error: ioError('write', plan.targetName, err) });
        }
        if (n === undefined) {
          if (read) plan.onActivity?.();
          // the target is full: nothing more is read until it takes what the pipe holds (the pipe is kept)
          return to.whenWritable(step);
        }
        inPipe -= n;
        moved = true;
      }
      if (eof && inPipe === 0) return end({ kind: 'eof' });
      if (!moved || (inputDry && inPipe === 0)) {
        if (read) plan.onActivity?.();
        return waitForSource();
      }
    }
    if (read) plan.onActivity?.();
    // busy: let the other sessions' events run before the next rounds
    setImmediate(step);
  };
  const stop = () => {
    if (over) return;
    over = true;
    clearTimeout(retry);
    from.whenReadable(undefined);
    to.whenWritable(undefined);
    if (pipe) givePipe(pipe, inPipe === 0);
    pipe = undefined;
  };
  step();
  return { done, stop, endOnEof: () => {} };
}

export interface PlannedDirection {
  leftToRight: boolean;
  from: Endpoint;
  to: Endpoint;
}

/**
 * Why some direction needs its bytes in JavaScript (a dump, a raw copy, a
 * conversion, a byte limit, an escape, ignoreeof), or undefined when none does:
 * what the zero-copy and the batched datagram paths both ask first.
 */
export function unseenRefusal(directions: PlannedDirection[], settings: RelaySettings): string | undefined {
  if (directions.length === 0) return 'nothing to relay';
  if (settings.verbose) return '-v';
  if (settings.hexDump) return '-x';
  if (settings.rawLeftToRight) return '-r';
  if (settings.rawRightToLeft) return '-R';
  for (const { from, to } of directions) {
    const fromAppl = from.appl;
    if (fromAppl?.readBytes !== undefined) return 'readbytes';
    if (fromAppl?.escape !== undefined) return 'escape';
    if (fromAppl?.ignoreEof) return 'ignoreeof';
    for (const term of [fromAppl?.readLineTerm, to.appl?.writeLineTerm]) if (term && term !== 'raw') return term;
  }
  return undefined;
}

/**
 * Why a session's directions cannot go through the kernel, or undefined when
 * they all can: the first reason found, for the log line.
 */
export function spliceRefusal(directions: PlannedDirection[], settings: RelaySettings): string | undefined {
  if (directions.length === 0) return 'nothing to relay';
  // the switch to compare both paths (tests, the bench) or to leave this one off
  if (process.env.TSOCAT_SPLICE === 'off') return 'TSOCAT_SPLICE=off';
  const unseen = unseenRefusal(directions, settings);
  if (unseen !== undefined) return unseen;
  for (const { from, to } of directions) {
    for (const ep of [from, to]) {
      if (ep.datagram || ep.kernelFd?.() === undefined) return `${ep.description} is not a plain stream socket`;
    }
  }
  return undefined;
}

/** The zero-copy path of one session: a direction per planned direction, and what they hold, given back by `release()`. */
export interface KernelRelay {
  direction(dir: PlannedDirection, plan: { onActivity?: () => void; count?: (bytes: number) => void; sourceName: string; targetName: string }): SpliceDirection;
  release(): Promise<void>;
}

/**
 * Sets up the zero-copy path for a session whose directions all qualify
 * (spliceRefusal said nothing): a watched duplicate per address; each
 * direction takes a pipe from the pool while it moves bytes. Throws when the
 * kernel refuses any of it (out of descriptors, or no pipe to be had now);
 * whatever was made is given back first, and the session takes the buffered path.
 */
export function kernelRelay(directions: PlannedDirection[], settings: RelaySettings): KernelRelay {
  const ends = new Map<Endpoint, KernelEnd>();
  const release = async () => {
    await Promise.all([...ends.values()].map((e) => e.close()));
    ends.clear();
  };
  try {
    for (const dir of directions) {
      for (const ep of [dir.from, dir.to]) if (!ends.has(ep)) ends.set(ep, new KernelEnd(ep.kernelFd?.() as number));
    }
    // a pipe can be had now (a spare one, or a new one that becomes spare): else the buffered path, as before
    givePipe(takePipe(false), true);
  } catch (err) {
    void release();
    throw err;
  }
  // socat reads at most -b bytes at a time; without -b the pipe's capacity is the only bound
  const readLen = settings.blockSizeGiven ? settings.blockSize : SPLICE_LEN;
  const running: SpliceDirection[] = [];
  return {
    direction(dir, plan) {
      const d = spliceDirection(ends.get(dir.from) as KernelEnd, ends.get(dir.to) as KernelEnd, { ...plan, readLen });
      running.push(d);
      return d;
    },
    async release() {
      for (const d of running) d.stop();
      await release();
    },
  };
}
