/**
 * Which signals end tsocat with a log line (socat's -S mask) and at what
 * level socat words them. Bit n of the mask stands for signal n.
 */
import { constants } from 'node:os';
import type { Level } from '../errors.js';

const SIGNAL_NUMBER = constants.signals as Record<string, number>;

/** socat's default: HUP, INT, QUIT, ILL, ABRT, BUS, FPE, SEGV, TERM. */
export const DEFAULT_LOG_SIGNALS = [1, 2, 3, 4, 6, 7, 8, 11, 15].reduce((mask, n) => mask + 2 ** n, 0);

/**
 * Signals tsocat never takes over: KILL and STOP cannot be caught, USR1 logs
 * statistics (socat installs that handler after the mask's), PIPE is ignored.
 */
const NOT_CAUGHT = new Set(['SIGKILL', 'SIGSTOP', 'SIGUSR1', 'SIGPIPE']);

export interface ExitSignal {
  name: NodeJS.Signals;
  number: number;
  level: Level;
}

/** socat logs TERM as a warning, HUP and INT as notices, anything else as an error. */
function levelOf(n: number): Level {
  if (n === SIGNAL_NUMBER.SIGTERM) return 'W';
  if (n === SIGNAL_NUMBER.SIGHUP || n === SIGNAL_NUMBER.SIGINT) return 'N';
  return 'E';
}

/** The catchable signals whose bits are set in the mask. */
export function signalsInMask(mask: number): ExitSignal[] {
  const out: ExitSignal[] = [];
  const seen = new Set<number>();
  for (const [name, number] of Object.entries(SIGNAL_NUMBER)) {
    // SIGIOT is SIGABRT, SIGPOLL is SIGIO: one handler per number
    if (NOT_CAUGHT.has(name) || number >= 53 || seen.has(number)) continue;
    seen.add(number);
    if (Math.floor(mask / 2 ** number) % 2 === 1) out.push({ name: name as NodeJS.Signals, number, level: levelOf(number) });
  }
  return out;
}
