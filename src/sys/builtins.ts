/**
 * Node built-in modules that only some relays use, loaded on first use: a
 * static import would load them (crypto is ~4 ms) at every start, bundled or not.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const crypto = (): typeof import('node:crypto') => require('node:crypto');
export const v8 = (): typeof import('node:v8') => require('node:v8');
export const vm = (): typeof import('node:vm') => require('node:vm');
