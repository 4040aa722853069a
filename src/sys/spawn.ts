/**
 * Starting a program with glibc's posix_spawn, through koffi. Node's
 * child_process.spawn goes through libuv 1.46's uv_spawn, which fork()s: the
 * kernel copies the page tables of the whole Node process, so one start costs
 * 15–20 ms of this thread in a 50 MiB tsocat and grows with its memory
 * (measured: 18.8 ms at 52 MiB, 46 ms at 250 MiB; posix_spawnp 1.6 and 0.9 ms,
 * since glibc starts the child with clone(CLONE_VM | CLONE_VFORK) and copies nothing).
 * The child's end is watched through a pidfd (Linux 5.3), so its exit is an
 * event of the loop like any other, and reaped with waitpid: libuv reaps only
 * the pids it started itself.
 */
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { loadKoffi } from './builtins.js';

const require = createRequire(import.meta.url);

const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSID = 0x80;
const SYS_PIDFD_OPEN = 434; // the same number on every Linux architecture (the unified table)
const WNOHANG = 1;
const F_GETFL = 3;
const O_NONBLOCK = 0o4000;

interface Calls {
  koffi: typeof import('koffi');
  spawnp: (pid: number[], file: string, actions: Buffer, attr: Buffer, argv: Array<string | null>, envp: Array<string | null>) => number;
  actionsInit: (actions: Buffer) => number;
  actionsDup2: (actions: Buffer, fd: number, to: number) => number;
  actionsDestroy: (actions: Buffer) => number;
  attrInit: (attr: Buffer) => number;
  attrFlags: (attr: Buffer, flags: number) => number;
  attrSigDefault: (attr: Buffer, set: Buffer) => number;
  attrSigMask: (attr: Buffer, set: Buffer) => number;
  attrDestroy: (attr: Buffer) => number;
  sigemptyset: (set: Buffer) => number;
  pidfdOpen: (pid: number, flags: number) => number;
  statusFlags: (fd: number) => number;
  waitpid: (pid: number, status: number[], options: number) => number;
  strerror: (errnum: number) => string;
}

let calls: Calls | undefined | null;

function load(): Calls | undefined {
  if (calls !== undefined) return calls ?? undefined;
  const koffi = loadKoffi();
  const lib = koffi.load('libc.so.6');
  const syscall = lib.func('long syscall(long, ...)');
  const fcntl = lib.func('int fcntl(int, int, ...)');
  const loaded: Calls = {
    koffi,
    spawnp: lib.func('int posix_spawnp(_Out_ int *pid, const char *file, void *actions, void *attr, const char **argv, const char **envp)'),
    actionsInit: lib.func('int posix_spawn_file_actions_init(void *)'),
    actionsDup2: lib.func('int posix_spawn_file_actions_adddup2(void *, int, int)'),
    actionsDestroy: lib.func('int posix_spawn_file_actions_destroy(void *)'),
    attrInit: lib.func('int posix_spawnattr_init(void *)'),
    attrFlags: lib.func('int posix_spawnattr_setflags(void *, short)'),
    attrSigDefault: lib.func('int posix_spawnattr_setsigdefault(void *, void *)'),
    attrSigMask: lib.func('int posix_spawnattr_setsigmask(void *, void *)'),
    attrDestroy: lib.func('int posix_spawnattr_destroy(void *)'),
    sigemptyset: lib.func('int sigemptyset(void *)'),
    pidfdOpen: (pid, flags) => Number(syscall(SYS_PIDFD_OPEN, 'int', pid, 'unsigned int', flags)),
    statusFlags: (fd) => fcntl(fd, F_GETFL) as number,
    waitpid: lib.func('int waitpid(int, _Out_ int *, int)'),
    strerror: lib.func('const char *strerror(int)'),
  };
  // a kernel without pidfds (before 5.3) keeps Node's spawn
  const probe = loaded.pidfdOpen(process.pid, 0);
  if (probe < 0) {
    calls = null;
    return undefined;
  }
  closeSync(probe);
  calls = loaded;
  return calls;
}

/**
 * Whether koffi is loaded already (a listener made through the descriptor layer loaded it): loading
 * it costs a start more than one fork of a fresh tsocat does, so a lone program start does not load it for this.
 */
export function ffiLoaded(): boolean {
  if (calls) return true;
  try {
    return require.cache[require.resolve('koffi')] !== undefined;
  } catch {
    return false;
  }
}

/** Whether posix_spawn and pidfds are there to use (Linux with glibc); loads them on first call. */
export function plainSpawnAvailable(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    return load() !== undefined;
  } catch {
    calls = null;
    return false;
  }
}

/**
 * Whether descriptor `fd` is open and blocking. libuv's child makes an inherited descriptor 0–2
 * blocking (on the description it shares with this process) before exec; posix_spawn cannot, so
 * a program that would inherit a non-blocking (or closed) one is left to Node's spawn.
 */
export function inheritsAsIs(fd: number): boolean {
  const flags = load()?.statusFlags(fd) ?? -1;
  return flags >= 0 && (flags & O_NONBLOCK) === 0;
}

export interface PlainSpawn {
  file: string;
  /** argv, argv[0] included */
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** descriptors the child gets: fds[i] becomes its descriptor i (undefined: this process's descriptor i, inherited) */
  fds: Array<number | undefined>;
  setsid: boolean;
}

/** A failed start, with the errno's name as Node's spawn reports it (ENOENT, EACCES…). */
export class SpawnError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/**
 * posix_spawnp(): the program searched on PATH (this process's), every signal
 * back at its default disposition and none blocked, as libuv's child does.
 * Returns the pid and a pidfd for it.
 */
export function spawnPlain(how: PlainSpawn): { pid: number; pidfd: number } {
  const c = load();
  if (!c) throw new SpawnError('ENOSYS', 'posix_spawn is not available');
  // glibc's posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336, sigset_t 128: room to spare
  const actions = Buffer.alloc(256);
  const attr = Buffer.alloc(512);
  const all = Buffer.alloc(128);
  const none = Buffer.alloc(128);
  c.actionsInit(actions);
  c.attrInit(attr);
  try {
    // dup2(i, i) of an inherited descriptor clears its close-on-exec flag (glibc 2.29), as libuv's child does for 'inherit'
    for (const [i, fd] of how.fds.entries()) c.actionsDup2(actions, fd ?? i, i);
    // every bit set, not sigfillset(), which leaves out glibc's own signals (32, 33): posix_spawn would
    // then set those to SIG_IGN in the child, and an ignored signal stays ignored across exec
    all.fill(0xff);
    c.sigemptyset(none);
    c.attrSigDefault(attr, all);
    c.attrSigMask(attr, none);
    c.attrFlags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (how.setsid ? POSIX_SPAWN_SETSID : 0));
    const envp: Array<string | null> = [];
    for (const [k, v] of Object.entries(how.env)) if (v !== undefined) envp.push(`${k}=${v}`);
    envp.push(null);
    const pid = [0];
    const err = c.spawnp(pid, how.file, actions, attr, [...how.argv, null], envp);
    if (err !== 0) throw new SpawnError(ERRNO_NAMES.get(err) ?? `E${err}`, c.strerror(err));
    const pidfd = c.pidfdOpen(pid[0] as number, 0);
    if (pidfd < 0) {
      // cannot happen for our own child before it is reaped; reap it rather than leave it
      process.kill(pid[0] as number, 'SIGKILL');
      c.waitpid(pid[0] as number, [0], 0);
      throw new SpawnError('ESYS', `pidfd_open(${pid[0]}): ${c.strerror(c.koffi.errno())}`);
    }
    return { pid: pid[0] as number, pidfd };
  } finally {
    c.actionsDestroy(actions);
    c.attrDestroy(attr);
  }
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** waitpid(pid, WNOHANG) once its pidfd says it has ended: its exit code or the signal that ended it, as Node reports them. */
export function reapChild(pid: number): { code: number | null; signal: NodeJS.Signals | null } | undefined {
  const c = load();
  if (!c) return undefined;
  const status = [0];
  if (c.waitpid(pid, status, WNOHANG) !== pid) return undefined;
  const s = status[0] as number;
  const termsig = s & 0x7f;
  if (termsig === 0) return { code: (s >> 8) & 0xff, signal: null };
  return { code: null, signal: SIGNAL_NAMES.get(termsig) ?? null };
}
