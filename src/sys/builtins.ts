/**
 * Node built-in modules (and packages) that only some relays use, loaded on
 * first use: a static import would load them (crypto is ~4 ms) at every start,
 * bundled or not. require(), not import(): the bundled command may be compiled
 * through node:vm with a code cache (bin/tsocat.js), where import() is refused.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const crypto = (): typeof import('node:crypto') => require('node:crypto');
export const v8 = (): typeof import('node:v8') => require('node:v8');
export const vm = (): typeof import('node:vm') => require('node:vm');
// node:net only for checking an IP option's value: the option catalog is loaded by every run, -V too
export const net = (): typeof import('node:net') => require('node:net');
export const tls = (): typeof import('node:tls') => require('node:tls');
export const serialport = (): typeof import('serialport') => require('serialport');
export const http = (): typeof import('node:http') => require('node:http');
// the WebSocket addresses' package, with node:http, node:https and node:crypto behind it
export const ws = (): typeof import('ws') => require('ws');
// cert=auto's certificate maker (with @peculiar/x509 behind it: ~0.3 s to load, paid only by cert=auto)
export const selfsigned = (): typeof import('selfsigned') => require('selfsigned');
