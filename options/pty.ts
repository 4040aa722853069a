import { TsocatError } from '../src/errors.js';
import { defineOptions } from './catalog.js';

/** `<cols>:<rows>`, each 0 to 65535, checked while the address is parsed. */
function checkWindowSize(value: string, optionText: string): void {
  const m = value.match(/^(\d+):(\d+)$/);
  if (!m) throw new TsocatError(`parseopts(): option "${optionText}": <cols>:<rows> required`, 'EOPTVALUE');
  for (const n of [m[1], m[2]]) if (Number(n) > 0xffff) throw new TsocatError(`tiocswinsz: ${n} is outside range 0..65535`, 'EOPTVALUE');
}

/**
 * Pseudo-terminals: the PTY address (socat's PTY group) and a program on a
 * pty (EXEC/SYSTEM/SHELL with `pty`; the PARENT group passes signals to it).
 */
export default defineOptions([
  { name: 'pty', type: 'bool', groups: ['FORK'], phase: 'fork', summary: 'give the program a pseudo-terminal (node-pty) as stdin and stdout instead of a socket pair' },
  { name: 'openpty', type: 'bool', groups: ['PTY'], phase: 'init', summary: 'make the pty with openpty() (what tsocat always does, through node-pty)' },
  { name: 'ptmx', type: 'bool', groups: ['PTY'], phase: 'init', summary: "socat opens /dev/ptmx itself; tsocat's node-pty uses openpty(), which opens the same device" },
  { name: 'symbolic-link', aliases: ['link'], type: 'filename', groups: ['PTY'], phase: 'late', summary: 'make a symbolic link to the slave side (/dev/pts/N) at this path; removed on exit unless unlink-close=0' },
  { name: 'pty-wait-slave', aliases: ['wait-slave'], type: 'bool', groups: ['PTY'], phase: 'init', summary: 'wait until a program opens the slave side before going on' },
  { name: 'pty-interval', type: 'timeval', groups: ['PTY'], phase: 'init', summary: 'with wait-slave: seconds between checks whether the slave is open (default 1)' },
  // INTERIM rows: socat's TERMIOS options tiocswinsz and tiocsctty belong in options/termios.ts, where the
  // TERMIOS work is adding them; until that lands they are here, in the PTY group only (see docs/differences.md).
  { name: 'tiocswinsz', aliases: ['winsz'], type: 'string', groups: ['PTY'], phase: 'fd', summary: '<cols>:<rows>: the window size of the pty', check: checkWindowSize },
  { name: 'tiocsctty', aliases: ['ctty'], type: 'bool', groups: ['PTY'], phase: 'late', summary: "make the pty the program's controlling terminal (with setsid)" },
  { name: 'sighup', type: 'const', groups: ['PARENT'], phase: 'late', summary: "pass SIGHUP to the program instead of ending tsocat" },
  { name: 'sigint', type: 'const', groups: ['PARENT'], phase: 'late', summary: 'pass SIGINT to the program instead of ending tsocat' },
  { name: 'sigquit', type: 'const', groups: ['PARENT'], phase: 'late', summary: 'pass SIGQUIT to the program instead of ending tsocat' },
]);
