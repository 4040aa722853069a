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
export type { RelayOptions } from './engine/relay/relay.js';
export { runSession } from './engine/relay/session.js';
export type { ChunkSource, SourceSink } from './engine/source.js';
export { TsocatError } from './errors.js';
export { parseAddress } from './grammar/parse.js';
export type { AddressSpec, DualAddressSpec, OptionSpec, SingleAddressSpec } from './grammar/spec.js';
export { createLogger, DEFAULT_LOG_CONFIG, type LogConfig, type Logger } from './log/logger.js';

import { loadRegistry } from '../addresses/index.js';
import type { AddressPlugin } from './define.js';
import { DEFAULT_SETTINGS, type OpenContext, type RelaySettings } from './engine/context.js';
import type { AccessMode, Opened } from './engine/endpoint.js';
import { openAddress as openParsed, resolveKeyword as resolveWith, validateAddress as validateWith } from './engine/opening/open.js';
import { relay as relayWith, type RelayOptions } from './engine/relay/relay.js';
import { parseAddress } from './grammar/parse.js';
import type { AddressSpec, SingleAddressSpec } from './grammar/spec.js';
import { createLogger, DEFAULT_LOG_CONFIG, type Logger } from './log/logger.js';

// The engine is handed the registry (it never imports addresses/); the library loads it for its callers.

/** Runs a relay between two addresses and resolves with socat's exit status. */
export async function relay(address1: string | AddressSpec, address2: string | AddressSpec, options: RelayOptions = {}): Promise<number> {
  return relayWith(address1, address2, { ...options, registry: await loadRegistry() });
}

/** Opens an already parsed address (with the library's registry unless the context names one). */
export async function openParsedAddress(spec: AddressSpec, mode: AccessMode, ctx: Omit<OpenContext, 'registry'> & Partial<Pick<OpenContext, 'registry'>>): Promise<Opened> {
  return openParsed(spec, mode, { ...ctx, registry: ctx.registry ?? (await loadRegistry()) });
}

/** Finds the plugin for an address's keyword (a lone digit means FD, a path GOPEN, as in socat). */
export async function resolveKeyword(spec: SingleAddressSpec): Promise<{ plugin: AddressPlugin; keyword: string; params: string[] }> {
  return resolveWith(spec, await loadRegistry());
}

/** Opens one address from its socat text, e.g. `openAddress('TCP:127.0.0.1:80')`. */
export function openAddress(
  text: string,
  options: { mode?: AccessMode; settings?: Partial<RelaySettings>; log?: Logger; signal?: AbortSignal } = {},
): Promise<Opened> {
  return openParsedAddress(parseAddress(text), options.mode ?? 'rw', {
    settings: { ...DEFAULT_SETTINGS, ...options.settings },
    log: options.log ?? createLogger(DEFAULT_LOG_CONFIG),
    perPeer: false,
    signal: options.signal ?? new AbortController().signal,
  });
}

/** Checks one address (syntax, keyword, parameter count, every option's value) without opening anything, as the command does before it opens either address. */
export async function validateAddress(spec: AddressSpec, mode: AccessMode, ctx: Pick<OpenContext, 'settings'> & Partial<Pick<OpenContext, 'log' | 'registry'>>): Promise<void> {
  return validateWith(spec, mode, { ...ctx, registry: ctx.registry ?? (await loadRegistry()) });
}
