/**
 * open(2) for paths that may be FIFOs or devices, without freezing tsocat.
 *
 * Opening a FIFO read-only or write-only blocks until the other end appears.
 * On the main thread that would stop signals and timers, so the open runs in
 * libuv's thread pool. A thread stuck there would also stop process exit
 * (libuv joins its threads), so when the relay is aborted a pending FIFO open
 * is released by briefly opening the FIFO's other end without blocking.
 */
import { close, closeSync, constants, open, openSync, statSync } from 'node:fs';
import type { Logger } from '../log/logger.js';

/** The access-mode bits of open(2) flags (Node does not export O_ACCMODE). */
export const O_ACCMODE = 3;

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
