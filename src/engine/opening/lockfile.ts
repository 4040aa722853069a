/**
 * socat's lockfile and waitlock options (APPL, phase INIT): before an address
 * opens, a lock file is created that must not exist yet; it holds tsocat's pid
 * and is removed when the address closes. lockfile fails when the file is
 * there, waitlock waits (checking once a second) until it is gone.
 */
import { chmodSync, linkSync, lstatSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { systemError, TsocatError } from '../../errors.js';
import { crypto } from '../../sys/builtins.js';
import type { Logger } from '../../log/logger.js';
import { onAbort } from '../abort.js';
import { type Hold, openOwn, pathKey } from '../held.js';

const WAIT_STEP_SECONDS = 1;

/** Creates the lock file atomically (a private file, then link()); false when it already exists. */
function tryLock(path: string): boolean {
  try {
    lstatSync(path);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw systemError(`lstat("${path}")`, err);
  }
  const temporary = `${path}.${crypto().randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(temporary, `${process.pid}\n`, { flag: 'wx' });
    chmodSync(temporary, 0o644);
  } catch (err) {
    throw systemError(`mkstemp("${temporary}")`, err);
  }
  try {
    linkSync(temporary, path);
    return true;
  } catch (err) {
    // someone else took it between our lstat and link
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw systemError(`link("${temporary}", "${path}")`, err);
  } finally {
    unlinkSync(temporary);
  }
}

function pause(seconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      stop();
      resolve();
    }, seconds * 1000);
    const stop = onAbort(signal, () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * Takes the lock an address's options ask for, and answers how to release it
 * (undefined when there is none).
 */
export async function takeLock(options: ResolvedOptions, log: Logger, signal: AbortSignal): Promise<Hold | undefined> {
  const lockfile = options.string('lockfile');
  const waitlock = options.string('waitlock');
  if (lockfile !== undefined && waitlock !== undefined) throw new TsocatError('only one use of options lockfile and waitlock allowed', 'EUSAGE');
  const path = lockfile ?? waitlock;
  if (path === undefined) return undefined;
  // a lock an ending session of this relay still holds is waited for, not refused (src/engine/held.ts)
  const busy = (err: unknown) => err instanceof TsocatError && err.code === 'ELOCKED';
  const { held } = await openOwn(lockKey(path), busy, log, signal, async () => {
    if (lockfile !== undefined) {
      if (!tryLock(path)) throw new TsocatError(`could not obtain lock "${path}"`, 'ELOCKED');
      return;
    }
    // socat says it once as a notice, then at info level on each later check
    let level: 'N' | 'I' = 'N';
    while (!tryLock(path)) {
      if (signal.aborted) throw new TsocatError(`could not obtain lock "${path}"`, 'ELOCKED');
      log.log(level, `waiting for lock "${path}"`);
      level = 'I';
      await pause(WAIT_STEP_SECONDS, signal);
    }
  });
  log.log('I', `obtained lock "${path}"`);
  let taken = true;
  return {
    end: held.end,
    release: () => {
      if (!taken) return;
      taken = false;
      try {
        unlinkSync(path);
      } catch {
        // already removed by someone else: nothing left to release
      }
      held.release();
    },
  };
}

/** The lock file's key: its directory resolved (the file itself comes and goes), then its name. */
function lockKey(path: string): string {
  return pathKey('lock', dirname(path)).replace(/"$/, `/${basename(path)}"`);
}
