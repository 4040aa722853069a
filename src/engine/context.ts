import type { Logger } from '../log/logger.js';
import type { Endpoint } from './endpoint.js';

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
};

/** Passed to every plugin's open(). */
export interface OpenContext {
  settings: RelaySettings;
  log: Logger;
  /** True when this address is opened again for each peer of a forking listener. */
  perPeer: boolean;
  /** Aborted when the relay stops; long waits (connect, accept) should honour it. */
  signal: AbortSignal;
  /** The first address's connectionInfo, for programs the second address starts. */
  connectionInfo?: Record<string, string>;
  /** When opening address 2: address 1, already open (its descriptors for nofork). */
  firstAddress?: Endpoint;
}
