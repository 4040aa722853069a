/**
 * EXEC/SYSTEM/SHELL with `pty`: the program's stdin and stdout (and stderr
 * with `stderr`) are the slave side of a new pty (node-pty's openpty), tsocat
 * relays the master side. `setsid` gives the program a session of its own and
 * `ctty` makes the pty its controlling terminal (through the launcher, which
 * does TIOCSCTTY before exec), so Ctrl-C on the line reaches the program's
 * foreground group as on a real terminal.
 */
import type { ChildProcess } from 'node:child_process';
import type { AddressRequest } from '../../define.js';
import { TsocatError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { ChildExit, Endpoint } from '../endpoint.js';
import { applyFdOptions } from '../descriptors/fdopts.js';
import { closeQuietly, masterEndpoint, openPty, optionsForMaster, type PtyPair } from '../terminals/pty.js';
import { passSignalsTo } from './signal-pass.js';

/** The program's terminal, ready for spawn: the slave goes to its descriptors 0, 1 (and 2 with stderr). */
export interface ProgramTerminal {
  pty: PtyPair;
  restoreTerminal?: () => void;
  /** What the launcher does before exec (ctty). */
  steps: string[];
}

/** Options that choose another channel to the program: socat takes one kind at a time. */
const OTHER_CHANNELS = ['pipes', 'fdin', 'fdout'];

/** Options of the PTY address that mean nothing for a program's pty (socat takes them there and ignores them). */
const PTY_ADDRESS_ONLY = ['symbolic-link', 'pty-wait-slave', 'pty-interval'];
/** Options that act only on a program's pty. */
const TERMINAL_ONLY = ['tiocsctty', 'tiocswinsz'];

/**
 * socat starts the program on a pty with `pty`, and with `openpty` or `ptmx`
 * (the ways of making one) alone too. Options that need the pty are refused
 * without it, and the PTY address's own ones with it.
 */
export function wantsTerminal(req: AddressRequest): boolean {
  const o = req.options;
  const wanted = o.bool('pty') || o.bool('openpty') || o.bool('ptmx');
  const misplaced = wanted ? PTY_ADDRESS_ONLY.find((n) => o.has(n)) : TERMINAL_ONLY.find((n) => o.has(n));
  if (misplaced) {
    throw new TsocatError(wanted ? `option "${misplaced}" is for the PTY address, not for a program on a pty` : `option "${misplaced}" needs a pty: add the pty option`, 'EUSAGE');
  }
  return wanted;
}

/** Opens the pty and applies the FD and TERMIOS options to it, before the program can look at it. */
export async function openProgramTerminal(req: AddressRequest): Promise<ProgramTerminal> {
  const o = req.options;
  const other = OTHER_CHANNELS.find((name) => o.has(name));
  if (other) throw new TsocatError(`option "${other}" cannot be combined with "pty": the program's stdin and stdout are the pty`, 'EUSAGE');
  const pty = openPty(o);
  try {
    const restoreTerminal = await applyFdOptions(pty.master, optionsForMaster(o));
    // socat makes the pty the controlling terminal through the program's descriptor that holds it
    return { pty, restoreTerminal, steps: o.bool('tiocsctty') ? [`ctty=${req.mode === 'r' ? 1 : 0}`] : [] };
  } catch (err) {
    closeQuietly(pty.slave);
    closeQuietly(pty.master);
    throw err;
  }
}

/**
 * Where the program's descriptors 0-2 go, as socat does it: the slave for the
 * directions the relay uses (stdin only when tsocat writes to the program,
 * stdout only when it reads), stderr to the pty only with `stderr`; the rest
 * stay tsocat's own.
 */
export function terminalStdio(req: AddressRequest, term: ProgramTerminal): Array<number | 'inherit'> {
  const { slave } = term.pty;
  return [req.mode !== 'r' ? slave : 'inherit', req.mode !== 'w' ? slave : 'inherit', req.options.bool('stderr') ? slave : 'inherit'];
}

/**
 * The relay's side once the program runs: tsocat's copy of the slave is
 * closed, so the master reads end (EIO) when the program and everything it
 * started have let go of the terminal.
 */
export function programTerminalEndpoint(req: AddressRequest, term: ProgramTerminal, child: ChildProcess, exited: Promise<ChildExit>, hasExited: () => boolean, log: Logger): Endpoint {
  const pid = child.pid as number;
  closeQuietly(term.pty.slave);
  log.log('I', `program ${pid} on ${term.pty.path}`);
  const stopPassing = passSignalsTo(pid, req.options);
  void exited.then(stopPassing);
  const endpoint = masterEndpoint(term.pty.master, req.mode, `${req.keyword} ${pid}`, log, () => {
    term.restoreTerminal?.();
    // as with pipes: a program still running at close gets SIGTERM, unless end-close
    if (!hasExited() && !req.options.bool('end-close')) child.kill('SIGTERM');
  });
  return { ...endpoint, exited };
}
