/**
 * open(2) for paths that may be FIFOs or devices, without freezing tsocat.
 *
 * Opening a FIFO read-only or write-only blocks until the other end appears.
 * On the main thread that would stop signals and timers, so the open runs in
 * libuv's thread pool. A thread stuck there would also stop process exit
 * (libuv joins its threads), so when the relay is aborted a pending FIFO open
 * is released by briefly opening the FIFO's other end without blocking.
 */
import { close, closeSync, constants, open, openSync, statSync, unlinkSync } from 'node:fs';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { systemError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { AccessMode } from '../endpoint.js';

/** Removes a file-system entry for the unlink options; one that is already gone is fine. */
export function removeEntry(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw systemError(`unlink("${path}")`, err);
  }
}

/** Linux's O_ASYNC (x86_64 and aarch64 agree); Node does not export it. */
export const O_ASYNC = 0o20000;

/** The OPEN options that are open(2) flags, as socat ORs them into the open call. */
const FLAG_OPTIONS: Array<[string, number]> = [
  ['o-creat', constants.O_CREAT],
  ['o-excl', constants.O_EXCL],
  ['o-trunc', constants.O_TRUNC],
  ['o-append', constants.O_APPEND],
  ['o-nonblock', constants.O_NONBLOCK],
  ['o-noctty', constants.O_NOCTTY],
  ['o-sync', constants.O_SYNC],
  ['o-noatime', constants.O_NOATIME ?? 0],
  ['o-nofollow', constants.O_NOFOLLOW],
  ['o-directory', constants.O_DIRECTORY],
  ['o-direct', constants.O_DIRECT],
  ['o-dsync', constants.O_DSYNC],
  // glibc defines O_RSYNC as O_SYNC on Linux
  ['o-rsync', constants.O_SYNC],
  // 64-bit Linux opens every file with large-file support, and glibc's O_LARGEFILE is 0 there, as socat ORs it in
  ['o-largefile', 0],
  // socat passes O_ASYNC to open() too; the kernel keeps the flag
  ['o-async', O_ASYNC],
];

/** The open(2) flag bits the OPEN options ask for (access mode apart). */
export function openFlags(options: ResolvedOptions): number {
  let flags = 0;
  for (const [name, bit] of FLAG_OPTIONS) if (options.bool(name)) flags |= bit;
  return flags;
}

/**
 * rdonly/wronly/rdwr choose the open(2) flags only: the address keeps the
 * directions the relay asked for, so writing to a file opened rdonly fails
 * with EBADF as it does in socat, instead of being silently dropped.
 */
export function accessFlags(mode: AccessMode, options: ResolvedOptions): { flags: number; mode: AccessMode } {
  if (options.bool('o-rdonly')) return { flags: constants.O_RDONLY, mode };
  if (options.bool('o-wronly')) return { flags: constants.O_WRONLY, mode };
  if (options.bool('o-rdwr')) return { flags: constants.O_RDWR, mode };
  const flags = mode === 'r' ? constants.O_RDONLY : mode === 'w' ? constants.O_WRONLY : constants.O_RDWR;
  return { flags, mode };
}

/** The access-mode bits of open(2) flags (Node does not export O_ACCMODE). */
export const O_ACCMODE = 3;

/**
 * A FIFO opened rdonly or wronly in two-way use (PIPE, OPEN, GOPEN): socat's loop
 * never finds the missing direction ready, so it stays idle; the same here by not
 * offering it. A one-way use keeps its direction whatever the open, so a mismatch
 * (rdonly where the relay writes) ends in an error rather than a relay that moves nothing.
 */
export function openedDirections(accessFlags: number, mode: AccessMode): AccessMode {
  const opened: AccessMode = (accessFlags & O_ACCMODE) === constants.O_RDONLY ? 'r' : (accessFlags & O_ACCMODE) === constants.O_WRONLY ? 'w' : 'rw';
  return mode === 'rw' ? opened : mode;
}

/** socat's notice before an open, e.g. `opening named pipe "p" for reading`. */
export function logOpening(log: Logger, path: string, flags: number): void {
  if (!log.enabled('N')) return;
  let kind = 'new file';
  try {
    const st = statSync(path);
    kind = st.isFIFO() ? 'named pipe' : st.isCharacterDevice() ? 'character device' : st.isBlockDevice() ? 'block device' : st.isDirectory() ? 'directory' : st.isSocket() ? 'socket' : 'regular file';
  } catch {
    // not there yet (creat)
  }
  const access = flags & O_ACCMODE;
  const how = access === constants.O_RDONLY ? 'reading' : access === constants.O_WRONLY ? 'writing' : 'reading and writing';
  log.log('N', `opening ${kind} "${path}" for ${how}`);
}

const stoppedWhileOpening = () => Object.assign(new Error('relay stopped while opening'), { code: 'EINTR' });

/** How often, and how many times, an aborted FIFO open is offered the other end (about 5 s in all). */
const RELEASE_INTERVAL_MS = 20;
const RELEASE_TRIES = 250;

export function openPathAsync(path: string, flags: number, perm: number, signal?: AbortSignal): Promise<number> {
  // an abort listener added to a signal that already fired never runs: the open would block for good
  if (signal?.aborted) return Promise.reject(stoppedWhileOpening());
  return new Promise((resolve, reject) => {
    let aborted = false;
    let retry: NodeJS.Timeout | undefined;
    const release = () => {
      aborted = true;
      // the open may not have reached its thread yet, and then the other end finds nobody waiting: offer it again
      let tries = 0;
      releaseFifoOpen(path, flags);
      retry = setInterval(() => {
        if (++tries >= RELEASE_TRIES) clearInterval(retry);
        releaseFifoOpen(path, flags);
      }, RELEASE_INTERVAL_MS);
    };
    signal?.addEventListener('abort', release, { once: true });
    open(path, flags, perm, (err, fd) => {
      signal?.removeEventListener('abort', release);
      clearInterval(retry);
      if (err) return reject(err);
      if (aborted) {
        close(fd, () => {});
        return reject(stoppedWhileOpening());
      }
      resolve(fd);
    });
  });
}


function releaseFifoOpen(path: string, flags: number): void {
  try {
    if (!statSync(path).isFIFO()) return;
    const waitingForWriter = (flags & O_ACCMODE) === constants.O_RDONLY;
    const other = (waitingForWriter ? constants.O_WRONLY : constants.O_RDONLY) | constants.O_NONBLOCK;
    closeSync(openSync(path, other));
  } catch {
    // nothing waits on it, or it is gone: the open ends by itself
  }
}
