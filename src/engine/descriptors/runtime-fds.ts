/**
 * Descriptors that belong to Node's own runtime rather than to whoever started
 * tsocat. Node opens them before any JavaScript runs (libuv's epoll set, its
 * wake-up eventfds, its signal pipes, one set per event loop, more for each
 * worker thread), at the lowest free numbers, so `FD:3` in a process started
 * with only stdio names libuv's epoll descriptor. Reading or closing one of
 * them makes libuv abort the process. Linux only: without /proc nothing is
 * recognised and the caller goes on as before.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

// what libuv and Node make for themselves; none of them carries a byte stream a relay could mean
const RUNTIME_INODES = /^anon_inode:\[?(eventpoll|eventfd|io_uring|signalfd|timerfd|inotify)\]?$/;

const O_ACCMODE = 3;

function target(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

function accessMode(fd: number): number | undefined {
  const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
  return flags === undefined ? undefined : Number.parseInt(flags, 8) & O_ACCMODE;
}

/**
 * True when this process holds the other end of the pipe at `fd` too: libuv's
 * signal pipes are such pairs, while a pipe handed down by a parent has its
 * other end outside (a caller that hands tsocat both ends of one pipe is
 * taken for libuv; docs/differences.md says so).
 */
function bothEndsHeld(fd: number, pipe: string): boolean {
  const mine = accessMode(fd);
  for (const name of readdirSync('/proc/self/fd')) {
    const other = Number(name);
    if (other === fd || target(other) !== pipe) continue;
    try {
      if (accessMode(other) !== mine) return true;
    } catch {
      // closed between the listing and the read: not the other end
    }
  }
  return false;
}

/**
 * What Node's runtime holds at `fd` (`anon_inode:[eventpoll]`, `pipe:[…]`), or
 * undefined when the descriptor is not one of its own (stdio, anything
 * inherited, a descriptor that is not open).
 */
export function runtimeDescriptor(fd: number): string | undefined {
  if (fd <= 2) return undefined;
  const what = target(fd);
  if (what === undefined) return undefined;
  if (RUNTIME_INODES.test(what)) return what;
  try {
    if (what.startsWith('pipe:') && bothEndsHeld(fd, what)) return `${what} (both ends)`;
  } catch {
    return undefined;
  }
  return undefined;
}
