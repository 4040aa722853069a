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
  /** socat keywords of this family that tsocat cannot offer, each with the reason given when one is used (OPENSSL-DTLS-*). */
  refused?: Readonly<Record<string, string>>;
  /** The parameters as help shows them, when the one left out is not the last (SOCKS5's `[:<socks-port>]`). */
  syntax?: string;
  groups: readonly OptionGroup[];
  summary: string;
  /** socat's `WITH_<FEATURE>` names that this plugin makes true in `-V`. */
  features: readonly string[];
  /** Directions the address supports (socat warns when opened otherwise). */
  directions?: AccessMode;
  /**
   * The keywords `-h` lists as address types (socat lists one per variant,
   * e.g. TCP4-CONNECT and TCP6-CONNECT); the other names are aliases. Default: the first name.
   */
  listed?: readonly string[];
  open(request: AddressRequest, ctx: OpenContext): Promise<Opened>;
}

export function defineAddress(plugin: AddressPlugin): AddressPlugin {
  return plugin;
}

/** `":<host>:<port>"` as socat's help prints it. */
/** `:<a>:<b>` for help; parameters that may be left out are in brackets, as socat shows `PIPE[:<filename>]`. */
export function syntaxOf(plugin: AddressPlugin): string {
  if (plugin.syntax !== undefined) return plugin.syntax;
  const required = plugin.minParams ?? plugin.params.length;
  const head = plugin.params.slice(0, required).map((p) => `:<${p}>`).join('');
  const optional = plugin.params.slice(required).map((p) => `:<${p}>`).join('');
  return optional ? `${head}[${optional}]` : head;
}
