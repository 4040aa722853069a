/**
 * tsocat as a library: the same engine the command uses.
 *
 *   import { relay, openAddress, parseAddress } from 'tsocat';
 *   const status = await relay('TCP-LISTEN:0,fork', 'EXEC:cat', { signal });
 */

export { allPlugins, loadRegistry } from '../addresses/index.js';
export { type AddressPlugin, type AddressRequest, defineAddress } from './define.js';
export { DEFAULT_SETTINGS, type RelaySettings } from './engine/context.js';
export type { AccessMode, ChildExit, Endpoint, Listener, Opened } from './engine/endpoint.js';
export { openAddress as openParsedAddress, resolveKeyword } from './engine/open.js';
export { type RelayOptions, relay } from './engine/relay.js';
export { runSession } from './engine/session.js';
export type { ChunkSource, SourceSink } from './engine/source.js';
export { TsocatError } from './errors.js';
export { parseAddress } from './grammar/parse.js';
export type { AddressSpec, DualAddressSpec, OptionSpec, SingleAddressSpec } from './grammar/spec.js';
export { createLogger, DEFAULT_LOG_CONFIG, type LogConfig, type Logger } from './log/logger.js';

import { DEFAULT_SETTINGS, type RelaySettings } from './engine/context.js';
import type { AccessMode, Opened } from './engine/endpoint.js';
import { openAddress as openParsed } from './engine/open.js';
import { parseAddress } from './grammar/parse.js';
import { createLogger, DEFAULT_LOG_CONFIG, type Logger } from './log/logger.js';

/** Opens one address from its socat text, e.g. `openAddress('TCP:127.0.0.1:80')`. */
export function openAddress(
  text: string,
  options: { mode?: AccessMode; settings?: Partial<RelaySettings>; log?: Logger; signal?: AbortSignal } = {},
): Promise<Opened> {
  return openParsed(parseAddress(text), options.mode ?? 'rw', {
    settings: { ...DEFAULT_SETTINGS, ...options.settings },
    log: options.log ?? createLogger(DEFAULT_LOG_CONFIG),
    perPeer: false,
    signal: options.signal ?? new AbortController().signal,
  });
}

/** Checks one address (syntax, keyword, parameter count, every option's value) without opening anything, as the command does before it opens either address. */
export { validateAddress } from './engine/open.js';
