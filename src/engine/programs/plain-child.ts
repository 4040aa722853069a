/**
 * A program started with posix_spawn (src/sys/spawn.ts) instead of Node's
 * child_process.spawn, which fork()s the whole tsocat (15–20 ms a start in a
 * 50 MiB process, measured). Used when the program needs nothing only spawn
 * does: its descriptors 0–2 are inherited or a socket pair each (Node's
 * 'pipe'), no launcher steps, no namespace. It looks to addresses/exec.ts
 * like a ChildProcess: pid, stdio, kill(), and one 'exit' with code and signal.
 */
import { EventEmitter } from 'node:events';
import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { net } from '../../sys/builtins.js';
import { setNonBlocking } from '../../sys/libc.js';
import { DescriptorWatch, UV_READABLE } from '../../sys/poll.js';
import { AF_UNIX, openSocketPair, SOCK_STREAM } from '../../sys/sockets.js';
import { inheritsAsIs, plainSpawnAvailable, reapChild, spawnPlain } from '../../sys/spawn.js';

/** A slot of the program's descriptors 0–2: a new socket pair, tsocat's own descriptor of that number, or the given descriptor. */
export type PlainStdio = 'pipe' | 'inherit' | number;

/** What of a ChildProcess the program addresses use. */
export class PlainChild extends EventEmitter {
  readonly stdio: Array<Socket | null>;
  readonly stderr: Socket | null;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  private readonly watch: DescriptorWatch;
  private ended = false;

  constructor(
    readonly pid: number,
    pidfd: number,
    stdio: Array<Socket | null>,
  ) {
    super();
    this.stdio = stdio;
    this.stderr = stdio[2] ?? null;
    // the pidfd turns readable when the program ends; waitpid then reaps it (libuv reaps only its own children)
    this.watch = new DescriptorWatch(pidfd, () => {
      const status = reapChild(pid);
      if (!status || this.ended) return;
      this.ended = true;
      this.exitCode = status.code;
      this.signalCode = status.signal;
      void this.watch.close().then(() => closeSync(pidfd));
      this.emit('exit', status.code, status.signal);
    });
    this.watch.want(UV_READABLE);
  }

  /** As ChildProcess.kill: false when the program has already been reaped (its pid may be another's by now). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.ended) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** Whether a program with this stdio can start without Node's spawn (and posix_spawn is there). */
export function canStartPlain(stdio: ReadonlyArray<unknown>): stdio is PlainStdio[] {
  if (stdio.length !== 3 || !stdio.every((s) => s === 'pipe' || s === 'inherit' || typeof s === 'number') || !plainSpawnAvailable()) return false;
  // a descriptor handed on as it is must already be what libuv's child would make it: blocking
  return stdio.every((s, fd) => s === 'pipe' || inheritsAsIs(s === 'inherit' ? fd : (s as number)));
}

/**
 * Starts `file` (searched on this process's PATH) with argv, env and, with
 * setsid, a new session; each 'pipe' slot is a stream socket pair, as Node
 * makes them, the program's end blocking and closed here once it has its copy;
 * a descriptor given by number (EXEC's `pipes`, `so-type`, `nofork`) is dup2()ed
 * into its slot and stays the caller's.
 * Throws SpawnError (code ENOENT, EACCES…) when the program cannot start.
 */
export function startPlain(file: string, argv: string[], env: NodeJS.ProcessEnv, stdio: PlainStdio[], setsid: boolean): PlainChild {
  const pairs = stdio.map((s) => (s === 'pipe' ? openSocketPair(AF_UNIX, SOCK_STREAM, 0) : undefined));
  let started: { pid: number; pidfd: number };
  try {
    for (const pair of pairs) if (pair) setNonBlocking(pair[1], false);
    started = spawnPlain({ file, argv, env, fds: pairs.map((p, i) => p?.[1] ?? (typeof stdio[i] === 'number' ? (stdio[i] as number) : undefined)), setsid });
  } catch (err) {
    for (const pair of pairs) if (pair) closeSync(pair[0]);
    throw err;
  } finally {
    for (const pair of pairs) if (pair) closeSync(pair[1]);
  }
  // tsocat's ends as Node's spawn makes them: stdin written only, stdout and stderr read
  const sockets = pairs.map((pair, i) => (pair ? (new (net().Socket)({ fd: pair[0], readable: i > 0, writable: i === 0 }) as Socket) : null));
  return new PlainChild(started.pid, started.pidfd, sockets);
}
