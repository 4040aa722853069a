/** How tsocat's process ends. */
import { isatty } from '../sys/builtins.js';

/** Which of fds 0-2 were terminals at start: Node resets those when it exits. (Asked without node:tty where none is a terminal.) */
const STARTED_ON_TTY = [0, 1, 2].map((fd) => isatty(fd));

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
