/**
 * A fork server that has had no session for a moment gives back the memory a
 * burst of connections left behind (issue 17, "memory that comes back").
 *
 * Measured with scripts/churn.mjs (docs/testing.md): after 100,000
 * connections through `TCP-LISTEN,fork TCP`, what stayed resident was V8's
 * young generation, grown to its 2 × 16 MiB under the allocation rate and never
 * shrunk; old-space garbage V8 had not yet collected (nothing allocates at
 * rest, so nothing makes it collect); and pages glibc's malloc keeps once freed
 * (it returns only the top of its heap by itself).
 *
 * So, once no session has run for REST_MS and the process has grown since it
 * last rested: the read-buffer pool keeps only a few idle buffers, and
 * malloc_trim(0) runs (it only hands free pages back); and, when
 * the process is tsocat's own (the command, not a library user's program:
 * `ownProcessMemory()`), first a full garbage collection, and from the first
 * fork server on a young generation that does not grow.
 */
import { v8, vm } from '../../sys/builtins.js';
import { type Logger, monotonicMs } from '../../log/logger.js';
import { trimMalloc } from '../../sys/libc.js';
import { readBuffers } from '../descriptors/socket-source.js';

/** How long without sessions counts as rest. */
const REST_MS = 1000;
/** Read buffers the pool keeps at rest (it keeps more while busy). */
const REST_BUFFERS = 8;
/** Growth since the last rest (or the start) below which resting is not worth a collection. */
const WORTH_BYTES = 4 * 1024 * 1024;

let own = false;
let gc: (() => void) | undefined;
let youngKept = false;

/** The command says the process is its own: V8 may be told how to manage it. */
export function ownProcessMemory(): void {
  own = true;
}

/** The young generation stays at its first size (1 MiB semi-spaces) instead of growing to 16 MiB ones it never gives back. */
function keepYoungGenerationSmall(): void {
  if (youngKept) return;
  youngKept = true;
  // read by V8 each time it considers growing the young generation, so it applies after start-up; V8 prints
  // "unrecognized flag" on stderr for a flag it lacks, so check this one when Node's major version changes (Node 20: present)
  v8().setFlagsFromString('--semi-space-growth-factor=1');
}

/** A full collection on demand: V8 gives `gc` only to a context made after --expose-gc is set (jest's leak detector does the same). */
function collectGarbage(): void {
  if (!gc) {
    v8().setFlagsFromString('--expose-gc');
    gc = vm().runInNewContext('gc') as () => void;
  }
  gc();
}

export interface RestWatch {
  /** A session started. */
  busy(): void;
  /** The last running session ended. */
  idle(): void;
  stop(): void;
}

/** Watches a fork server's sessions (`running()` counts them) and gives memory back when it rests. */
export function restWatch(running: () => number, log: Logger): RestWatch {
  if (own) keepYoungGenerationSmall();
  let restedAt = process.memoryUsage.rss();
  let idleSince = 0;
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    timer = undefined;
    if (running() > 0) return;
    const left = idleSince + REST_MS - Date.now();
    if (left > 0) {
      timer = setTimeout(check, left).unref();
      return;
    }
    const before = process.memoryUsage.rss();
    if (before < restedAt + WORTH_BYTES) return;
    // in steps, each its own turn of the event loop, so a peer arriving meanwhile waits for one step at most
    const t0 = monotonicMs();
    const took: string[] = [];
    const steps = [
      () => readBuffers.shrink(REST_BUFFERS),
      // the second collection frees the pages the first one's sweeping emptied (measured: one left ~30 MiB of old space)
      ...(own ? [collectGarbage, collectGarbage] : []),
      trimMalloc,
    ];
    const step = () => {
      if (running() > 0) return;
      const t = monotonicMs();
      steps.shift()?.();
      took.push((monotonicMs() - t).toFixed(1));
      if (steps.length > 0) {
        // a referenced immediate: an unreferenced one does not wake a loop that waits in epoll, so with
        // nothing else to wake it (sessions on the zero-copy path leave no Node handle behind) the
        // steps waited for the next connection
        setImmediate(step);
        return;
      }
      restedAt = process.memoryUsage.rss();
      if (log.enabled('D')) log.log('D', `no session for ${REST_MS} ms: memory given back in ${(monotonicMs() - t0).toFixed(1)} ms (${took.join(' + ')}), resident ${mib(before)} → ${mib(restedAt)} MiB`);
    };
    step();
  };
  return {
    busy() {
      idleSince = Number.POSITIVE_INFINITY;
    },
    idle() {
      idleSince = Date.now();
      // one timer at a time: a session that starts and ends meanwhile only moves idleSince
      timer ??= setTimeout(check, REST_MS).unref();
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
