/**
 * What the kernel says about a running process's descriptors and locks, for
 * tests of file options: which descriptor holds a path, its open(2) status
 * flags and locks (/proc/<pid>/fdinfo) and the locks on an inode (/proc/locks).
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { stop, waitFor } from './helpers.js';

/** The descriptor of `path` in process `pid`, found in /proc/<pid>/fd. */
export function fdOf(pid: number, path: string): number | undefined {
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === path) return Number(fd);
    } catch {
      // closed meanwhile
    }
  }
  return undefined;
}

/** The open(2) status flags the kernel keeps for descriptor `fd` of process `pid` (octal in fdinfo). */
export function fdFlags(pid: number, fd: number): number {
  const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
  return Number.parseInt(info.match(/^flags:\s*([0-7]+)/m)?.[1] ?? 'x', 8);
}

/** The open(2) status flags for `path` open in a child, once it has opened it. */
export async function openFlagsIn(child: ChildProcess, path: string): Promise<number> {
  const pid = child.pid as number;
  await waitFor(() => fdOf(pid, path) !== undefined);
  return fdFlags(pid, fdOf(pid, path) as number);
}

/** The lines of /proc/locks about the inode of `path` (blocked waiters start with "->"). */
export function locksOn(path: string): string[] {
  const ino = statSync(path).ino;
  return readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .filter((l) => l.split(/\s+/).some((f) => f.endsWith(`:${ino}`)));
}

/**
 * `pid` holds a lock of that kind (and, if given, READ or WRITE) on `path`,
 * read from the lock lines of its /proc/<pid>/fdinfo: FCNTL is a fcntl(2)
 * record lock, the process's own (POSIX, socat's) or its open file
 * description's (OFDLCK, tsocat's), which /proc/locks shows with pid -1.
 */
export function holds(path: string, kind: 'FLOCK' | 'FCNTL', pid: number, access?: 'READ' | 'WRITE'): boolean {
  const ino = statSync(path).ino;
  const kinds = kind === 'FLOCK' ? ['FLOCK'] : ['POSIX', 'OFDLCK'];
  const isHeld = (line: string) =>
    line.startsWith('lock:') &&
    !line.includes('->') &&
    line.split(/\s+/).some((f) => f.endsWith(`:${ino}`)) &&
    kinds.some((k) => line.includes(` ${k} `)) &&
    (access === undefined || line.includes(access));
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return false; // the process has gone
  }
  return fds.some((fd) => {
    try {
      return readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').split('\n').some(isHeld);
    } catch {
      return false; // closed meanwhile
    }
  });
}

/** Waits (bounded) for a background tsocat to end by itself; stops it by pid if it does not. */
export async function stopWhenDone(p: ChildProcess): Promise<number | null> {
  try {
    await waitFor(() => p.exitCode !== null, 10000);
  } catch {
    await stop(p, 'SIGKILL');
  }
  return p.exitCode;
}
