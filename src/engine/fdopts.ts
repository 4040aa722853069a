/** FD and NAMED group options that act on an open descriptor (socat's PH_FD / PH_LATE). */
import { chmodSync, chownSync, constants, fchmodSync, fchownSync, ftruncateSync, readFileSync } from 'node:fs';
import type { ResolvedOptions } from '../../options/catalog.js';
import { INODE_FLAGS } from '../../options/reg.js';
import { TsocatError, systemError } from '../errors.js';
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

/** NAMED options on a path (before it is opened): owner, group and mode of the entry. */
export function applyNamedOptions(path: string, options: ResolvedOptions): void {
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
];

/** How an address's own way of opening changes what the FD options do. */
export interface FdOptionContext {
  /** perm was already the creation mode of open(2)/creat(2) (OPEN, CREATE, GOPEN): no fchmod afterwards, as in socat. */
  permAtOpen?: boolean;
  /** close-on-exec unless cloexec=0 (socat's FD address, so inherited descriptors do not leak into a child program). */
  closeOnExecByDefault?: boolean;
}

/**
 * Applies the FD options (and TERMIOS ones on a terminal) to a descriptor the
 * address uses. Returns what puts the terminal back at close, when its
 * settings were changed.
 */
export async function applyFdOptions(fd: number, options: ResolvedOptions, context: FdOptionContext = {}): Promise<(() => void) | undefined> {
  const perm = context.permAtOpen ? undefined : options.number('perm');
  if (perm !== undefined) {
    try {
      fchmodSync(fd, perm);
    } catch (err) {
      throw systemError(`fchmod(${fd}, 0${perm.toString(8)})`, err);
    }
  }
  const owner = ownerIds(options);
  if (owner) {
    const { uid, gid } = owner;
    try {
      fchownSync(fd, uid, gid);
    } catch (err) {
      throw systemError(`fchown(${fd}, ${uid}, ${gid})`, err);
    }
  }
  const size = options.number('ftruncate');
  if (size !== undefined) {
    try {
      ftruncateSync(fd, size);
    } catch (err) {
      throw systemError(`ftruncate64(${fd}, ${size})`, err);
    }
  }
  const flags = STATUS_FLAGS.filter(([name]) => options.bool(name));
  const wantsLock = ['flock-ex', 'flock-ex-nb', 'setlk', 'setlkw'].some((n) => options.bool(n));
  const pipeSize = options.number('f-setpipe-sz');
  const inodeFlags = INODE_FLAGS.filter(([name]) => options.has(name));
  const closeOnExec = options.has('cloexec') ? options.bool('cloexec') : context.closeOnExecByDefault ? true : undefined;
  const offset = options.number('seek');
  // terminal settings last: nothing after them can fail and leave the terminal changed
  if (!wantsLock && flags.length === 0 && closeOnExec === undefined && pipeSize === undefined && inodeFlags.length === 0 && offset === undefined) {
    return applyTermiosOptions(fd, options);
  }
  const { addStatusFlags, changeInodeFlags, flockExclusive, seekTo, setCloseOnExec, setPipeSize, setWriteLock } = await import('../sys/libc.js');
  // the descriptor's own offset, as socat's lseek: reads and writes (and a program handed the descriptor) start there
  if (offset !== undefined) seekTo(fd, offset);
  if (pipeSize !== undefined) setPipeSize(fd, pipeSize);
  if (inodeFlags.length) {
    const bits = (on: boolean) => inodeFlags.filter(([name]) => options.bool(name) === on).reduce((all, [, bit]) => all | bit, 0);
    changeInodeFlags(fd, bits(true), bits(false));
  }
  // on a descriptor tsocat opened itself these were open() flags already; setting them again changes nothing
  if (flags.length) addStatusFlags(fd, flags.reduce((all, [, bit]) => all | bit, 0), flags.map(([, , name]) => name).join('|'));
  if (closeOnExec !== undefined) setCloseOnExec(fd, closeOnExec);
  if (options.bool('flock-ex')) flockExclusive(fd, true);
  if (options.bool('flock-ex-nb')) flockExclusive(fd, false);
  if (options.bool('setlk')) setWriteLock(fd, false);
  if (options.bool('setlkw')) setWriteLock(fd, true);
  return applyTermiosOptions(fd, options);
}
