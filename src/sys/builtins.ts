/**
 * Node built-in modules (and packages) that only some relays use, loaded on
 * first use: a static import would load them (crypto is ~4 ms) at every start,
 * bundled or not. require(), not import(): the bundled command may be compiled
 * through node:vm with a code cache (bin/tsocat.js), where import() is refused.
 */
import { fstatSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const crypto = (): typeof import('node:crypto') => require('node:crypto');
export const v8 = (): typeof import('node:v8') => require('node:v8');
export const vm = (): typeof import('node:vm') => require('node:vm');
// node:net (with the stream modules behind it) only where a socket or pipe is made: a relay of files or devices does without
export const net = (): typeof import('node:net') => require('node:net');
// node:tty loads node:net too
export const tty = (): typeof import('node:tty') => require('node:tty');
export const tls = (): typeof import('node:tls') => require('node:tls');
export const serialport = (): typeof import('serialport') => require('serialport');
export const http = (): typeof import('node:http') => require('node:http');
export const dgram = (): typeof import('node:dgram') => require('node:dgram');
// name lookups (node:dns with its promises), and /etc/hosts read by res-nsaddr: node:fs/promises loads readline too
export const dns = (): typeof import('node:dns') => require('node:dns');
export const dnsPromises = (): typeof import('node:dns/promises') => require('node:dns/promises');
export const fsPromises = (): typeof import('node:fs/promises') => require('node:fs/promises');
// res-nsaddr's DNS packets (dns-query.ts)
export const dnsPacket = (): typeof import('dns-packet') => require('dns-packet');
// the WebSocket addresses' package, with node:http, node:https and node:crypto behind it
export const ws = (): typeof import('ws') => require('ws');
// cert=auto's certificate maker (with @peculiar/x509 behind it: ~0.3 s to load, paid only by cert=auto)
export const selfsigned = (): typeof import('selfsigned') => require('selfsigned');

let koffiModule: typeof import('koffi') | undefined;

/**
 * koffi, loaded once with process.stderr out of sight. koffi's CommonJS
 * wrapper copies node:util's properties, and on Node 22 and later that reads
 * util.diff, whose colour check makes process.stderr; made for a pipe, it
 * sets O_NONBLOCK on descriptor 2, an open file description tsocat shares with
 * whoever started it and with the programs it starts (which then met a
 * non-blocking stderr, and made a fork relay start its programs with Node's
 * spawn instead of posix_spawn, plain-child.ts). Unseen for that moment, the
 * colour check finds no terminal and nothing is made.
 */
export function loadKoffi(): typeof import('koffi') {
  if (koffiModule) return koffiModule;
  const stderr = Object.getOwnPropertyDescriptor(process, 'stderr');
  if (stderr?.configurable) Object.defineProperty(process, 'stderr', { configurable: true, enumerable: stderr.enumerable, get: () => undefined });
  try {
    koffiModule = require('koffi') as typeof import('koffi');
  } finally {
    if (stderr?.configurable) Object.defineProperty(process, 'stderr', stderr);
  }
  return koffiModule;
}

let nullDevice: number | null | undefined;

/**
 * isatty(), asking node:tty only for a character device other than
 * /dev/null: a file, pipe, socket or /dev/null, as scripts give tsocat,
 * is never a terminal, and tells so without loading node:tty and node:net.
 */
export function isatty(fd: number, stats?: { isCharacterDevice(): boolean; rdev: number }): boolean {
  let st = stats;
  if (st === undefined) {
    try {
      st = fstatSync(fd);
    } catch {
      return false;
    }
  }
  if (!st.isCharacterDevice()) return false;
  if (nullDevice === undefined) {
    try {
      nullDevice = statSync('/dev/null').rdev;
    } catch {
      nullDevice = null;
    }
  }
  return st.rdev !== nullDevice && tty().isatty(fd);
}
