/**
 * TSOCAT_LOOP_WATCHDOG=<ms> (100 when empty or not a number): a watchdog on the
 * event loop, for tests and for finding out which session froze the others.
 * The main thread stamps a shared word every few milliseconds; a worker thread
 * checks the stamp, so a loop stuck in a system call is reported while it is
 * stuck, not only afterwards (a timer in the stuck thread could not). Each
 * stall longer than the bound logs one W line on stderr when seen, and one
 * when it is over, with its length.
 *
 * What counts towards the bound is the loop's own part of the wait: all of it
 * while the main thread sleeps (in a system call), but while the thread is
 * ready to run only the CPU time it got (/proc/<pid>/task/<pid>/stat and
 * schedstat). On a machine busy with other processes a loop that blocks on
 * nothing still falls 100 ms behind now and then, waiting for a CPU; that is
 * the machine's doing, not a session's. Where /proc does not tell, all of the
 * wait counts, as before.
 */
import { Worker } from 'node:worker_threads';

const STAMP_EVERY_MS = 10;

/** The worker: plain JavaScript evaluated in its own thread (import() works whether it is read as CommonJS or as a module). */
const WATCHER = `
(async () => {
const { parentPort, workerData } = await import('node:worker_threads');
const { writeSync } = await import('node:fs');
const { shared, start, bound, pid } = workerData;
const stamp = new Int32Array(shared);
const { readFileSync } = await import('node:fs');
const task = '/proc/' + pid + '/task/' + pid + '/';
// the main thread: ready to run (or running), and its CPU time in ms
const sample = () => {
  try {
    const stat = readFileSync(task + 'stat', 'latin1');
    const ready = stat[stat.lastIndexOf(')') + 2] === 'R';
    return { ready, cpu: Number(readFileSync(task + 'schedstat', 'latin1').split(' ')[0]) / 1e6 };
  } catch {
    return undefined;
  }
};
const two = (n) => String(n).padStart(2, '0');
const say = (text) => {
  const d = new Date();
  const when = d.getFullYear() + '/' + two(d.getMonth() + 1) + '/' + two(d.getDate()) + ' ' + two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  try { writeSync(2, when + ' tsocat[' + pid + '] W ' + text + '\\n'); } catch {}
};
let stalledSince;
let lastStamp = -1;
let own = 0;
let before = sample();
let beforeAt = Date.now();
setInterval(() => {
  const value = Atomics.load(stamp, 0);
  const now = Date.now();
  const after = sample();
  const since = now - beforeAt;
  const part = after && before && after.ready ? Math.min(since, after.cpu - before.cpu) : since;
  before = after;
  beforeAt = now;
  const last = start + value;
  const lag = now - last;
  if (value !== lastStamp) {
    lastStamp = value;
    own = Math.min(lag, part);
  } else {
    own += part;
  }
  if (own > bound && stalledSince === undefined) {
    stalledSince = last;
    say('event loop stalled for more than ' + bound + ' ms (loop watchdog)');
  } else if (lag <= bound && stalledSince !== undefined) {
    say('event loop stalled for ' + (last - stalledSince) + ' ms (loop watchdog)');
    stalledSince = undefined;
  }
}, ${STAMP_EVERY_MS * 2});
parentPort.postMessage('watching');
})();
`;

/**
 * Starts the watchdog when TSOCAT_LOOP_WATCHDOG is set; it never keeps the process alive.
 * Resolves with the bound once the worker is watching (undefined when there is none).
 */
export function startLoopWatchdog(env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  const setting = env.TSOCAT_LOOP_WATCHDOG;
  if (setting === undefined) return Promise.resolve(undefined);
  const bound = Number(setting) > 0 ? Number(setting) : 100;
  const shared = new SharedArrayBuffer(4);
  const stamp = new Int32Array(shared);
  const start = Date.now();
  setInterval(() => Atomics.store(stamp, 0, Date.now() - start), STAMP_EVERY_MS).unref();
  const worker = new Worker(WATCHER, { eval: true, execArgv: [], workerData: { shared, start, bound, pid: process.pid } });
  worker.unref();
  return new Promise((resolve) => {
    worker.once('message', () => resolve(bound));
    // a watchdog that cannot run must not take the relay down with it
    worker.on('error', () => resolve(undefined));
  });
}
