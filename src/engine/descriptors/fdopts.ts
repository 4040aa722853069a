/** FD and NAMED group options that act on an open descriptor (socat's PH_FD / PH_LATE). */
import { chmodSync, chownSync, constants, existsSync, fchmodSync, fchownSync, ftruncateSync, readFileSync } from 'node:fs';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { INODE_FLAGS } from '../../../options/reg.js';
import { systemError, TsocatError } from '../../errors.js';
import type { LockKind } from '../../sys/libc.js';
import type { Logger } from '../../log/logger.js';
import { onAbort } from '../abort.js';
import { applyIoctls, wantsIoctl } from './ioctl.js';
import { O_ASYNC } from './open-path.js';
import { applyTermiosOptions } from './termios.js';

/** Looks a user or group up by name in the local databases; numbers pass through. */
export function lookupId(kind: 'user' | 'group', value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const file = kind === 'user' ? '/etc/passwd' : '/etc/group';
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const fields = line.split(':');
    if (fields[0] === value && fields[2] !== undefined) return Number(fields[2]);
  }
  throw new TsocatError(kind === 'user' ? `getpwnam("${value}"): no such user` : `getgrnam("${value}"): no such group`, 'ENOUSER');
}

/** A user's uid and primary gid, for running a program as that user (socat's su option). */
export function lookupUser(value: string): { uid: number; gid: number } {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if ((f[0] === value || f[2] === value) && f[3] !== undefined) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  if (/^\d+$/.test(value)) return { uid: Number(value), gid: Number(value) };
  throw new TsocatError(`getpwnam("${value}"): no such user`, 'ENOUSER');
}

/** uid and gid from the user/group options (-1 keeps one unchanged); undefined when neither is given. */
function ownerIds(options: ResolvedOptions): { uid: number; gid: number } | undefined {
  const user = options.string('user');
  const group = options.string('group');
  if (user === undefined && group === undefined) return undefined;
  return { uid: user !== undefined ? lookupId('user', user) : -1, gid: group !== undefined ? lookupId('group', group) : -1 };
}

/** chown() or chmod() on a path, worded as socat's failure. */
function changeEntry(path: string, change: { uid?: number; gid?: number; mode?: number }): void {
  const { uid = -1, gid = -1, mode } = change;
  try {
    if (mode !== undefined) chmodSync(path, mode);
    else chownSync(path, uid, gid);
  } catch (err) {
    throw systemError(mode !== undefined ? `chmod("${path}", 0${mode.toString(8)})` : `chown("${path}", ${uid}, ${gid})`, err);
  }
}

/**
 * user-early, group-early and perm-early (socat's PH_PREOPEN): the entry's owner, group
 * and mode change before it is opened, so the open sees them. As in socat they act only
 * on an entry that exists already; one the open is about to create is left alone.
 */
export function applyEarlyNamedOptions(path: string, options: ResolvedOptions): void {
  const user = options.string('user-early');
  const group = options.string('group-early');
  const mode = options.number('perm-early');
  if ((user === undefined && group === undefined && mode === undefined) || !existsSync(path)) return;
  if (user !== undefined) changeEntry(path, { uid: lookupId('user', user) });
  if (group !== undefined) changeEntry(path, { gid: lookupId('group', group) });
  if (mode !== undefined) changeEntry(path, { mode });
}

/** NAMED options on a path (before it is opened): owner, group and mode of the entry. */
export function applyNamedOptions(path: string, options: ResolvedOptions): void {
  applyEarlyNamedOptions(path, options);
  const owner = ownerIds(options);
  if (owner) {
    const { uid, gid } = owner;
    try {
      chownSync(path, uid, gid);
    } catch (err) {
      throw systemError(`chown("${path}", ${uid}, ${gid})`, err);
    }
  }
  const perm = options.number('perm');
  if (perm !== undefined) {
    try {
      chmodSync(path, perm);
    } catch (err) {
      throw systemError(`chmod("${path}", 0${perm.toString(8)})`, err);
    }
  }
}

/** Open flags that socat also sets on descriptors it did not open (STDIO, FD, sockets), with fcntl(F_SETFL). */
const STATUS_FLAGS: Array<[string, number, string]> = [
  ['o-append', constants.O_APPEND, 'O_APPEND'],
  ['o-nonblock', constants.O_NONBLOCK, 'O_NONBLOCK'],
  ['o-sync', constants.O_SYNC, 'O_SYNC'],
  ['o-noatime', constants.O_NOATIME ?? 0, 'O_NOATIME'],
  ['o-async', O_ASYNC, 'O_ASYNC'],
];

type Sys = typeof import('../../sys/libc.js');

/** The lock options, in socat's order within PH_FD: which lock, and whether to wait for it. */
const LOCKS: Array<[string, LockKind, boolean]> = [
  ['flock-ex', 'flock-ex', true],
  ['flock-ex-nb', 'flock-ex', false],
  ['flock-sh', 'flock-sh', true],
  ['flock-sh-nb', 'flock-sh', false],
  ['setlk', 'fcntl-wr', false],
  ['setlkw', 'fcntl-wr', true],
  ['f-setlk-rd', 'fcntl-rd', false],
  ['f-setlkw-rd', 'fcntl-rd', true],
];

/** How long a lock wait pauses between tries: short at first, then at most LOCK_RETRY_MAX_MS. */
const LOCK_RETRY_FIRST_MS = 5;
const LOCK_RETRY_MAX_MS = 100;

/**
 * Takes a lock, waiting for it (when asked) by trying again on a timer instead of in a
 * blocking call, so other sessions go on and the relay's signal ends the wait.
 */
async function takeDescriptorLock(sys: Sys, fd: number, kind: LockKind, wait: boolean, context: FdOptionContext): Promise<void> {
  const { signal, log } = context;
  let delay = LOCK_RETRY_FIRST_MS;
  while (!sys.tryLock(fd, kind, wait)) {
    if (delay === LOCK_RETRY_FIRST_MS) log?.log('I', `waiting for lock on fd ${fd} (${kind})`);
    if (signal?.aborted) throw new TsocatError('relay stopped while waiting for a lock', 'EINTR', { level: 'I' });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delay);
      const stop = onAbort(signal, done);
      function done() {
        clearTimeout(timer);
        stop();
        resolve();
      }
    });
    delay = Math.min(delay * 2, LOCK_RETRY_MAX_MS);
  }
}

/** seek, seek-cur and seek-end with their lseek whence. */
const SEEKS: Array<[string, 0 | 1 | 2]> = [
  ['seek', 0],
  ['seek-cur', 1],
  ['seek-end', 2],
];

/** fchmod/fchown of the descriptor's file, worded as socat's failure. */
function changeDescriptor(fd: number, change: { uid?: number; gid?: number; mode?: number }): void {
  const { uid = -1, gid = -1, mode } = change;
  try {
    if (mode !== undefined) fchmodSync(fd, mode);
    else fchownSync(fd, uid, gid);
  } catch (err) {
    throw systemError(mode !== undefined ? `fchmod(${fd}, 0${mode.toString(8)})` : `fchown(${fd}, ${uid}, ${gid})`, err);
  }
}

/** user-late, group-late and perm-late (socat's PH_LATE): owner, group and mode of the open file, whatever the address. */
function applyLateOwnership(fd: number, options: ResolvedOptions): void {
  const user = options.string('user-late');
  const group = options.string('group-late');
  const mode = options.number('perm-late');
  if (user !== undefined) changeDescriptor(fd, { uid: lookupId('user', user) });
  if (group !== undefined) changeDescriptor(fd, { gid: lookupId('group', group) });
  if (mode !== undefined) changeDescriptor(fd, { mode });
}

/** ftruncate, refusing a negative size as the kernel does (Node would quietly make it 0). */
function truncateTo(fd: number, size: number): void {
  try {
    if (size < 0) throw Object.assign(new Error('Invalid argument'), { code: 'EINVAL' });
    ftruncateSync(fd, size);
  } catch (err) {
    throw systemError(`ftruncate64(${fd}, ${size})`, err);
  }
}

/** How an address's own way of opening changes what the FD options do. */
export interface FdOptionContext {
  /** perm was already the creation mode of open(2)/creat(2) (OPEN, CREATE, GOPEN): no fchmod afterwards, as in socat. */
  permAtOpen?: boolean;
  /** close-on-exec unless cloexec=0 (socat's FD address, so inherited descriptors do not leak into a child program). */
  closeOnExecByDefault?: boolean;
  /** The relay's signal: a lock wait (flock-ex, setlkw, …) ends when it fires. */
  signal?: AbortSignal;
  /** Where a lock wait says that it waits. */
  log?: Logger;
}

/**
 * Applies the FD options (and TERMIOS ones on a terminal) to a descriptor the
 * address uses. Returns what puts the terminal back at close, when its
 * settings were changed.
 */
export async function applyFdOptions(fd: number, options: ResolvedOptions, context: FdOptionContext = {}): Promise<(() => void) | undefined> {
  const perm = context.permAtOpen ? undefined : options.number('perm');
  if (perm !== undefined) changeDescriptor(fd, { mode: perm });
  const owner = ownerIds(options);
  if (owner) changeDescriptor(fd, owner);
  const size = options.number('ftruncate');
  if (size !== undefined) truncateTo(fd, size);
  applyLateOwnership(fd, options);
  const flags = STATUS_FLAGS.filter(([name]) => options.bool(name));
  const locks = LOCKS.filter(([name]) => options.bool(name));
  const pipeSize = options.number('f-setpipe-sz');
  const inodeFlags = INODE_FLAGS.filter(([name]) => options.has(name));
  const closeOnExec = options.has('cloexec') ? options.bool('cloexec') : context.closeOnExecByDefault ? true : undefined;
  const seeks = SEEKS.filter(([name]) => options.has(name));
  // terminal settings last: nothing after them can fail and leave the terminal changed
  if (locks.length === 0 && flags.length === 0 && closeOnExec === undefined && pipeSize === undefined && inodeFlags.length === 0 && seeks.length === 0 && !wantsIoctl(options)) {
    return applyTermiosOptions(fd, options);
  }
  const sys = await import('../../sys/libc.js');
  // the descriptor's own offset, as socat's lseek: reads and writes (and a program handed the descriptor) start there
  for (const [name, whence] of seeks) sys.seekFrom(fd, options.number(name) as number, whence);
  if (pipeSize !== undefined) sys.setPipeSize(fd, pipeSize);
  if (inodeFlags.length) {
    const bits = (on: boolean) => inodeFlags.filter(([name]) => options.bool(name) === on).reduce((all, [, bit]) => all | bit, 0);
    sys.changeInodeFlags(fd, bits(true), bits(false));
  }
  await applyIoctls(fd, options);
  // on a descriptor tsocat opened itself these were open() flags already; setting them again changes nothing
  if (flags.length) sys.addStatusFlags(fd, flags.reduce((all, [, bit]) => all | bit, 0), flags.map(([, , name]) => name).join('|'));
  if (closeOnExec !== undefined) sys.setCloseOnExec(fd, closeOnExec);
  for (const [, kind, wait] of locks) await takeDescriptorLock(sys, fd, kind, wait, context);
  return applyTermiosOptions(fd, options);
}
