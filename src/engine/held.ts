/**
 * What the sessions of this process hold that the next session of the same
 * relay may want: a serial line, a lock file, a device locked for one user, a
 * socket file. A session that is ending (its other side is done) still holds
 * it through its close wait (-t); the next open of the same thing (a client
 * that reconnects to `TCP-LISTEN,fork …`) waits for that release, at most
 * RELEASE_WAIT_S, instead of failing on tsocat's own previous session. When
 * nothing here holds it, a busy open fails at once, as before.
 */
import { realpathSync } from 'node:fs';
import type { Logger } from '../log/logger.js';
import { sleep } from './abort.js';

interface Holder {
  ending: boolean;
  released: Promise<void>;
}

/** Holders by key (what is held: `SERIAL /dev/ttyUSB0`, `lock /run/x.lock`, …). */
const holders = new Map<string, Set<Holder>>();

export const RELEASE_WAIT_S = 5;

/** A path as one key whatever way it is written (a symlink, a relative path); the path itself when it does not exist. */
export function pathKey(kind: string, path: string): string {
  try {
    return `${kind} "${realpathSync(path)}"`;
  } catch {
    return `${kind} "${path}"`;
  }
}

export interface Hold {
  /** The session holding it is ending: the next open may wait for it. */
  end(): void;
  /** Let go: whoever waits goes on. */
  release(): void;
}

/** Registers `key` as held by one session until release(). */
export function hold(key: string): Hold {
  let release!: () => void;
  const holder: Holder = { ending: false, released: new Promise<void>((r) => (release = r)) };
  const set = holders.get(key) ?? new Set();
  holders.set(key, set.add(holder));
  return {
    end: () => {
      holder.ending = true;
    },
    release: () => {
      set.delete(holder);
      if (set.size === 0 && holders.get(key) === set) holders.delete(key);
      release();
    },
  };
}

/** Waits, at most RELEASE_WAIT_S, for the holders of `key` that `which` picks to let go; says so when there are any. */
async function released(key: string, which: (h: Holder) => boolean, log: Logger, signal: AbortSignal): Promise<void> {
  const waited = [...(holders.get(key) ?? [])].filter(which);
  if (waited.length === 0) return;
  log.log('I', `${key}: waiting for an ending session of this relay to release it`);
  await Promise.race([Promise.all(waited.map((h) => h.released)), sleep(RELEASE_WAIT_S, signal)]);
}

/**
 * When the open says busy, which holders here are waited for before the one
 * more try: 'any' (a device or lock: the holding session may not have read
 * its end of file yet), or only 'ending' ones (a socket file: a running
 * session's file makes the bind fail at once, as socat's).
 */
export type BusyWait = 'any' | 'ending';

/**
 * Opens something this relay may still hold: after the sessions known to be
 * ending have let it go; and when the open says it is busy while a session
 * here holds it, once more after that session (see BusyWait). What is opened
 * is held, as `key`, until the caller releases it.
 */
export async function openOwn<T>(
  key: string,
  busy: (err: unknown) => boolean,
  log: Logger,
  signal: AbortSignal,
  open: () => Promise<T>,
  busyWait: BusyWait = 'any',
): Promise<{ value: T; held: Hold }> {
  await released(key, (h) => h.ending, log, signal);
  let value: T;
  try {
    value = await open();
  } catch (err) {
    if (!busy(err) || !holders.get(key)?.size) throw err;
    if (busyWait === 'ending') {
      // events already in (the holding session's end of file) are taken in first
      await new Promise((r) => setImmediate(r));
      if (![...(holders.get(key) ?? [])].some((h) => h.ending)) throw err;
    }
    await released(key, (h) => busyWait === 'any' || h.ending, log, signal);
    value = await open();
  }
  return { value, held: hold(key) };
}

/**
 * An opened address that holds `held` until it has closed; its session counts
 * as ending from the moment its write side is shut (the other side is done),
 * or the session says it is ending (either side done).
 */
export function releasedOnClose<T extends { close(): Promise<void>; shutdownWrite?: () => void; ending?: () => void }>(opened: T, held: Hold): T {
  const ending = opened.ending?.bind(opened);
  opened.ending = () => {
    held.end();
    ending?.();
  };
  const close = opened.close.bind(opened);
  opened.close = async () => {
    held.end();
    try {
      await close();
    } finally {
      held.release();
    }
  };
  const shutdownWrite = opened.shutdownWrite?.bind(opened);
  if (shutdownWrite) {
    opened.shutdownWrite = () => {
      held.end();
      shutdownWrite();
    };
  }
  return opened;
}
