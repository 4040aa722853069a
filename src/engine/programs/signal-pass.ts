/**
 * socat's PARENT options (sighup, sigint, sigquit): a signal of that kind is
 * passed on to the program instead of ending tsocat. The CLI asks
 * `isPassedOn()` before it exits on a signal.
 */
import type { ResolvedOptions } from '../../../options/catalog.js';

const PASSABLE: Array<[option: string, signal: NodeJS.Signals]> = [
  ['sighup', 'SIGHUP'],
  ['sigint', 'SIGINT'],
  ['sigquit', 'SIGQUIT'],
];

/** Programs that take each signal, by pid. */
const takers = new Map<NodeJS.Signals, Set<number>>();
const installed = new Set<NodeJS.Signals>();

function passOn(signal: NodeJS.Signals): void {
  for (const pid of takers.get(signal) ?? []) {
    try {
      process.kill(pid, signal);
    } catch {
      // ended meanwhile
    }
  }
}

/** Starts passing the signals the options name to `pid`; returns what stops it (when the program has ended). */
export function passSignalsTo(pid: number, options: ResolvedOptions): () => void {
  const signals = PASSABLE.filter(([option]) => options.has(option)).map(([, signal]) => signal);
  for (const signal of signals) {
    let set = takers.get(signal);
    if (!set) takers.set(signal, (set = new Set()));
    set.add(pid);
    if (!installed.has(signal)) process.on(signal, () => passOn(signal));
    installed.add(signal);
  }
  return () => {
    for (const signal of signals) takers.get(signal)?.delete(pid);
  };
}

/** True while some program takes `signal`: tsocat then does not end on it. */
export function isPassedOn(signal: NodeJS.Signals): boolean {
  return (takers.get(signal)?.size ?? 0) > 0;
}
