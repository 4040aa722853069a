/**
 * tsocat as a library: the same engine the command uses.
 *
 *   import { relay, openAddress, parseAddress } from 'tsocat';
 *   const status = await relay('TCP-LISTEN:0,fork', 'EXEC:cat', { signal });
 */
export { relay, type RelayOptions } from './engine/relay.js';
export { openAddress as openParsedAddress, resolveKeyword } from './engine/open.js';
export { runSession } from './engine/session.js';
export { parseAddress } from './grammar/parse.js';
export type { AddressSpec, SingleAddressSpec, DualAddressSpec, OptionSpec } from './grammar/spec.js';
export type { Endpoint, Listener, Opened, AccessMode, ChildExit } from './engine/endpoint.js';
export type { ChunkSource, SourceSink } from './engine/source.js';
export { DEFAULT_SETTINGS, type RelaySettings } from './engine/context.js';
export { TsocatError } from './errors.js';
export { createLogger, DEFAULT_LOG_CONFIG, type Logger, type LogConfig } from './log/logger.js';
export { defineAddress, type AddressPlugin, type AddressRequest } from './define.js';
export { loadRegistry, allPlugins } from '../addresses/index.js';

import { openAddress as openParsed } from './engine/open.js';
import { parseAddress } from './grammar/parse.js';
import { DEFAULT_SETTINGS, type RelaySettings } from './engine/context.js';
import type { AccessMode, Opened } from './engine/endpoint.js';
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
