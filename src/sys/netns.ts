/**
 * socat's netns option: make one address's socket (or start its program) in
 * the network namespace /run/netns/<name>, then come back. setns(2) changes
 * the calling thread only; tsocat calls it on the main thread around a
 * synchronous socket() or spawn(), and always goes back before anything else
 * runs, so no other session, and none of libuv's pool threads, sees the switch.
 * setns through koffi, loaded on first use.
 */
import { closeSync, openSync } from 'node:fs';
import { strerror, TsocatError } from '../errors.js';
import { loadKoffi } from './builtins.js';

const CLONE_NEWNET = 0x40000000;

let setns: ((fd: number, nstype: number) => number) | undefined;
let errnoText: (() => string) | undefined;

function load(): (fd: number, nstype: number) => number {
  if (setns) return setns;
  const koffi = loadKoffi();
  const lib = koffi.load('libc.so.6');
  const text = lib.func('const char *strerror(int)');
  errnoText = () => text(koffi.errno()) as string;
  setns = lib.func('int setns(int, int)');
  return setns;
}

function openNamespace(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    throw new TsocatError(`open(${path}, O_RDONLY|O_CLOEXEC): ${strerror(err as NodeJS.ErrnoException)}`, 'ENETNS');
  }
}

/** Where the switches are told (the caller's logger): the system-call layer sits below logging. */
type SwitchLog = { log(level: 'I' | 'F', text: string): void };

/** Runs `make` (synchronous: a socket(), a spawn()) inside the network namespace `name`, and comes back whatever happens. */
export function inNetworkNamespace<T>(name: string, log: SwitchLog | undefined, make: () => T): T {
  const enter = load();
  log?.log('I', `switching to net namespace "${name}"`);
  const home = openNamespace('/proc/thread-self/ns/net');
  try {
    const target = openNamespace(`/run/netns/${name}`);
    try {
      if (enter(target, CLONE_NEWNET) < 0) throw new TsocatError(`setns(${target}, CLONE_NEWNET): ${errnoText?.()}`, 'ENETNS');
    } finally {
      closeSync(target);
    }
    try {
      return make();
    } finally {
      // staying in the other namespace would put every later socket there: that is not an error to go on from
      if (enter(home, CLONE_NEWNET) < 0) {
        log?.log('F', `xio_reset_namespace(${home}): ${errnoText?.()}`);
        process.exit(1);
      }
    }
  } finally {
    closeSync(home);
  }
}
