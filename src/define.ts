/**
 * The address plugin contract. A plugin is data (names, parameters, option
 * groups, help) plus one open(); see addresses/*.ts.
 */
import type { OptionGroup, ResolvedOptions } from '../options/catalog.js';
import type { OpenContext } from './engine/context.js';
import type { AccessMode, Opened } from './engine/endpoint.js';
import type { SingleAddressSpec } from './grammar/spec.js';

/** One address, ready to open: keyword resolved, options validated and typed. */
export interface AddressRequest {
  /** The canonical keyword the user's text resolved to (upper case), e.g. `TCP4-LISTEN`. */
  keyword: string;
  params: string[];
  options: ResolvedOptions;
  mode: AccessMode;
  spec: SingleAddressSpec;
}

export interface AddressPlugin {
  /** Keywords and aliases, upper case; the first is the family's main name. */
  names: readonly string[];
  /** Positional parameters, for help and count checking (`<port>`, `<host>`…). */
  params: readonly string[];
  /** When some trailing parameters may be left out: the fewest accepted. */
  minParams?: number;
  groups: readonly OptionGroup[];
  summary: string;
  /** socat's `WITH_<FEATURE>` names that this plugin makes true in `-V`. */
  features: readonly string[];
  /** Directions the address supports (socat warns when opened otherwise). */
  directions?: AccessMode;
  open(request: AddressRequest, ctx: OpenContext): Promise<Opened>;
}

export function defineAddress(plugin: AddressPlugin): AddressPlugin {
  return plugin;
}

/** `":<host>:<port>"` as socat's help prints it. */
export function syntaxOf(plugin: AddressPlugin): string {
  return plugin.params.map((p) => `:<${p}>`).join('');
}
