/**
 * What the engine hands every address plugin, and what a plugin is: the
 * relay's settings, its logger and signal, and the registry of plugins. The
 * registry is handed in by whoever starts the engine (src/index.ts,
 * src/cli.ts), so nothing under src/engine imports addresses/.
 */
import type { OptionGroup, ResolvedOptions } from '../../options/catalog.js';
import type { SingleAddressSpec } from '../grammar/spec.js';
import type { Logger } from '../log/logger.js';
import type { AccessMode, Endpoint, Opened } from './endpoint.js';

/** Settings from the command line that addresses and the engine consult. */
export interface RelaySettings {
  /** -b: the most bytes moved per read. */
  blockSize: number;
  /** True when -b was given (then chunks are cut to blockSize). */
  blockSizeGiven: boolean;
  /** -t: seconds to wait for the other direction after one side's EOF. */
  closeTimeout: number;
  /** -T: end after this many seconds without data; 0 means never. */
  inactivityTimeout: number;
  /** -u: left to right only; -U: right to left only. */
  direction: 'both' | 'left-to-right' | 'right-to-left';
  /** -v / -x dumps. */
  verbose: boolean;
  hexDump: boolean;
  /** -r / -R: raw copies of each direction's data to these files. */
  rawLeftToRight?: string;
  rawRightToLeft?: string;
  /** -g: accept options outside an address's groups. */
  ignoreGroups: boolean;
  /** -4 / -6: default IP version for names. */
  preferredFamily: 4 | 6 | 0;
  /** -0: no IP version preferred; a listener without one serves both (an IPv6 socket that takes IPv4 too). */
  anyFamily: boolean;
  /** -S / --statistics. */
  statistics: boolean;
  /** -D: print the descriptor analysis before the transfer starts. */
  analyzeDescriptors: boolean;
  /** -s: an option socat would refuse is reported and left out, and the relay goes on. */
  sloppy: boolean;
  /** --experimental: silences the warning of experimental options (netns, as in socat 1.8.1.1). */
  experimental: boolean;
}

export const DEFAULT_SETTINGS: RelaySettings = {
  blockSize: 8192,
  blockSizeGiven: false,
  closeTimeout: 0.5,
  inactivityTimeout: 0,
  direction: 'both',
  verbose: false,
  hexDump: false,
  ignoreGroups: false,
  preferredFamily: 0,
  anyFamily: false,
  statistics: false,
  analyzeDescriptors: false,
  sloppy: false,
  experimental: false,
};

/** Every address plugin by upper-case keyword and alias (addresses/index.ts loadRegistry()). */
export type Registry = ReadonlyMap<string, AddressPlugin>;

/** Passed to every plugin's open(). */
export interface OpenContext {
  settings: RelaySettings;
  log: Logger;
  /** The address registry: how the engine finds a keyword's plugin without importing addresses/. */
  registry: Registry;
  /** True when this address is opened again for each peer of a forking listener. */
  perPeer: boolean;
  /** Aborted when the relay stops; long waits (connect, accept) should honour it. */
  signal: AbortSignal;
  /** The first address's connectionInfo, for programs the second address starts. */
  connectionInfo?: Record<string, string>;
  /** When opening address 2: address 1, already open (its descriptors for nofork). */
  firstAddress?: Endpoint;
  /** Counts a reconnection (an address with `reconnect` connected again), for the relay's metrics. */
  countReconnect?: () => void;
  /** In a --workers worker, opening address 1: the parent's listening socket, taken instead of making one (src/engine/workers/). */
  inheritedListener?: number;
}

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
  /** The last parameter takes the rest of the text, colons included (a URL: `WS:ws://host:port/path`). */
  restParam?: boolean;
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
  /** Its listener can serve with --workers: it hands out its listening socket and takes an inherited one (ctx.inheritedListener). */
  workers?: boolean;
}
