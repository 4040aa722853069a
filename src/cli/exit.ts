/** How tsocat's process ends. */
import { fstatSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * Whether `fd` is a terminal, asking node:tty (which loads node:net and the
 * stream modules, a fifth of tsocat's start-up) only for a character device
 * other than /dev/null: a file, a pipe, a socket or /dev/null, as scripts and
 * the start-up bench give tsocat, is never a terminal.
 */
function startedOnTerminal(fd: number, nullDevice: number | undefined): boolean {
  let stats: ReturnType<typeof fstatSync>;
  try {
    stats = fstatSync(fd);
  } catch {
    return false;
  }
  if (!stats.isCharacterDevice() || stats.rdev === nullDevice) return false;
  return isatty(fd);
}

function isatty(fd: number): boolean {
  return (createRequire(import.meta.url)('node:tty') as typeof import('node:tty')).isatty(fd);
}

function nullDeviceId(): number | undefined {
  try {
    return statSync('/dev/null').rdev;
  } catch {
    return undefined;
  }
}

/** Which of fds 0-2 were terminals at start: Node resets those when it exits. */
const STARTED_ON_TTY = ((nullDevice) => [0, 1, 2].map((fd) => startedOnTerminal(fd, nullDevice)))(nullDeviceId());

/**
 * Ends the process with `status`. When a terminal tsocat started on has hung
 * up, Node 20 aborts in its exit-time terminal reset (tcsetattr fails; fixed in
 * later Node, nodejs/node#58200) and its crash handler then spins at full CPU
 * for ever. So tsocat ends as a process without a SIGHUP handler ends when its
 * terminal goes away, by SIGHUP itself (a shell reports 129), which skips that reset.
 */
export function exitWith(status: number): never {
  // isatty() is false once the terminal has hung up (its ioctl fails with EIO)
  if (STARTED_ON_TTY.some((was, fd) => was && !isatty(fd))) {
    process.removeAllListeners('SIGHUP');
    process.kill(process.pid, 'SIGHUP');
  }
  process.exit(status);
}
