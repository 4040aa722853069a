/**
 * socat's command-line flags, parsed the way socat parses them: flags come
 * before the addresses, a lone `-` or `-,…` is an address, values may be
 * attached (`-b8192`, `-lffile`) or separate (`-b 8192`, `-lf file`).
 * A general-purpose parser (yargs) costs ~75 ms at start-up and cannot express
 * -d0…-d4, -ly[facility] or -lm[facility]; this one is a table and a loop.
 */

import { availableParallelism } from 'node:os';
import { parseCNumber, parseTimeval } from '../../options/catalog.js';
import { isAblated, traceUse } from '../ablation.js';
import { DEFAULT_SETTINGS, type RelaySettings } from '../engine/context.js';
import { TsocatError } from '../errors.js';
import { DEFAULT_LOG_CONFIG, isSyslogFacility, LEVEL_NUMBER, type LogConfig } from '../log/logger.js';
import { type MetricsAddress, parseListenAddress } from '../serve/listen-address.js';
import { DEFAULT_LOG_SIGNALS } from './signals.js';

export interface CommandLine {
  settings: RelaySettings;
  log: LogConfig;
  /** -h = 1, -hh = 2, -hhh = 3. */
  help: number;
  /** --list-serial: print the serial devices and exit (tsocat's own flag). */
  listSerial?: boolean;
  /** --completion <shell>: print a completion script for bash or zsh and exit (tsocat's own flag). */
  completion?: string;
  version: boolean;
  addresses: string[];
  /** -L / -W lock file: fail, or wait. */
  lock?: { path: string; wait: boolean };
  /** -S: bit n set = signal n ends tsocat with an "exiting on signal n" line. */
  logSignals: number;
  /** --metrics <host>:<port> (tsocat's own): Prometheus metrics of this relay (src/serve/metrics.ts). */
  metrics?: MetricsAddress;
  /** --progress (tsocat's own): a live progress line on stderr (src/cli/progress.ts). */
  progress?: boolean;
  /** --workers <n>|auto (tsocat's own): processes serving address 1's fork listener together (src/engine/workers/). */
  workers?: number;
}

function hint(a: string, b: string): TsocatError {
  return new TsocatError(`Do not merge single character options, i.e. use "-${a} -${b}" instead of "-${a}${b}"`, 'EUSAGE');
}

const MAX_BLOCK_SIZE = 2 ** 31 - 1;

/** A flag's number, refused in socat's words (`-t abc`: missing numerical value of option "-t"); a time (the default limit) or, for -b, any size, checked after. */
function number(text: string, flag: string, limit?: number): number {
  return parseTimeval(text, flag, limit);
}

/** More processes than this is a mistake, not a server. */
const MAX_WORKERS = 1024;

/** --workers' value: a count from 1, or `auto`, one per core the process may use. */
function workerCount(text: string): number {
  if (text === 'auto') return availableParallelism();
  const n = /^[1-9]\d*$/.test(text) ? Number(text) : 0;
  if (n < 1 || n > MAX_WORKERS) throw new TsocatError(`option --workers: invalid value "${text}" (a number from 1 to ${MAX_WORKERS}, or auto)`, 'EUSAGE');
  return n;
}

/** The name a flag goes by in the ablation check and its trace: `-d` for -dd/-d2, `-lf` for -lf<file>, `--log-format` for its forms. */
function flagKey(arg: string): string {
  if (arg.startsWith('--')) return arg.split('=')[0] as string;
  if (arg[1] === 'l' && arg.length >= 3) return arg.slice(0, 3);
  if (arg[1] === '?') return '-h';
  return arg.slice(0, 2);
}

/** Every flag the parser takes, by the name the ablation check knows it by (see flagKey). */
export const FLAG_KEYS: readonly string[] = [
  '-V', '-h', '-d', '-D', '-lf', '-lp', '-ls', '-lu', '-lh', '-ly', '-lm', '-v', '-x', '-r', '-R', '-b', '-s', '-S',
  '-t', '-T', '-u', '-U', '-g', '-L', '-W', '-0', '-4', '-6', '--statistics', '--experimental', '--log-format', '--help', '--version', '--list-serial', '--completion', '--metrics', '--progress',
  '--workers',
];

/** Puts an object back as a snapshot had it, dropping fields set since. */
function restore<T extends object>(target: T, snapshot: T): void {
  for (const k of Object.keys(target)) if (!(k in snapshot)) delete (target as Record<string, unknown>)[k];
  Object.assign(target, snapshot);
}

/** Parses argv (without node and script). Throws TsocatError with socat's wording. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const settings: RelaySettings = { ...DEFAULT_SETTINGS };
  const log: LogConfig = { ...DEFAULT_LOG_CONFIG };
  // socat 1.8 counts -d from 0 but shows warnings by default, so no -d and one -d both mean W; -d0 means errors only
  let verbosity: number | undefined;
  const out: CommandLine = { settings, log, help: 0, version: false, addresses: [], logSignals: DEFAULT_LOG_SIGNALS };
  let i = 0;
  const flagValue = (arg: string, flag: string, attachedFrom = 2): string => {
    if (arg.length > attachedFrom) return arg.slice(attachedFrom);
    const next = argv[++i];
    if (next === undefined) throw new TsocatError(`option ${flag} requires an argument; use option "-h" for help`, 'EUSAGE');
    return next;
  };
  const noAttached = (arg: string) => {
    if (arg.length > 2) throw hint(arg[1] as string, arg[2] as string);
  };

  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-') || arg === '-' || arg.startsWith('-,') || arg.startsWith('-!!')) break;
    const c = arg[1] as string;
    const key = flagKey(arg);
    traceUse(key);
    // the ablation check: the flag is parsed (and refused if wrong) as usual, then its effect is undone
    const before = isAblated(key) ? structuredClone({ settings, log, out: { ...out, settings: undefined, log: undefined }, verbosity }) : undefined;
    switch (c) {
      case 'V':
        noAttached(arg);
        out.version = true;
        break;
      case 'h':
      case '?':
        if (!/^-(h{1,3}|\?{1,3})$/.test(arg)) throw new TsocatError(`unknown option "${arg}"; use option "-h" for help`, 'EUSAGE');
        out.help = arg.length - 1;
        break;
      case 'd': {
        const rest = arg.slice(2);
        if (rest === '') verbosity = (verbosity ?? 0) + 1;
        else if (/^d+$/.test(rest)) verbosity = (verbosity ?? 0) + rest.length + 1;
        else if (/^[0-4]$/.test(rest)) verbosity = Number(rest);
        else throw new TsocatError(`Invalid (trailing) character(s) "${rest[0]}" in "${arg}"option`, 'EUSAGE');
        break;
      }
      case 'D':
        noAttached(arg);
        settings.analyzeDescriptors = true;
        break;
      case 'l': {
        const kind = arg[2];
        if (kind === 'y' || kind === 'm') {
          const facility = arg.slice(3);
          if (facility && !isSyslogFacility(facility)) throw new TsocatError(`unknown syslog facility "${facility}"`, 'EUSAGE');
          if (kind === 'y') log.syslogFacility = facility || 'daemon';
          else {
            // socat's -lm starts on stderr (dropping an earlier -lf) and moves to syslog once running
            log.file = undefined;
            log.mixedFacility = facility;
          }
        } else if (kind === 'f') log.file = flagValue(arg, '-lf', 3);
        else if (kind === 'p') log.program = flagValue(arg, '-lp', 3);
        else if (kind === 's' && arg.length === 3) {
          log.file = undefined;
          log.syslogFacility = undefined;
        } else if (kind === 'u' && arg.length === 3) log.micros = true;
        else if (kind === 'h' && arg.length === 3) log.withHost = true;
        else throw new TsocatError(`unknown log option "${arg}"; use option "-h" for help`, 'EUSAGE');
        break;
      }
      case 'v':
        noAttached(arg);
        settings.verbose = true;
        break;
      case 'x':
        noAttached(arg);
        settings.hexDump = true;
        break;
      case 'r':
        settings.rawLeftToRight = flagValue(arg, '-r');
        break;
      case 'R':
        settings.rawRightToLeft = flagValue(arg, '-R');
        break;
      case 'b': {
        const text = flagValue(arg, '-b');
        const size = number(text, '-b', Number.POSITIVE_INFINITY);
        if (!Number.isInteger(size) || size < 1) throw new TsocatError(`option -b: invalid value "${size}"`, 'EUSAGE');
        // a Node Buffer cannot be larger; socat refuses sizes past its own limit with the same words
        if (size > MAX_BLOCK_SIZE) throw new TsocatError(`buffer size option (-b) to big - ${text} (max is ${MAX_BLOCK_SIZE})`, 'EUSAGE');
        settings.blockSize = size;
        settings.blockSizeGiven = true;
        break;
      }
      case 's':
        noAttached(arg);
        settings.sloppy = true;
        break;
      case 'S':
        out.logSignals = parseCNumber(flagValue(arg, '-S'), '-S');
        break;
      case 't':
        settings.closeTimeout = number(flagValue(arg, '-t'), '-t');
        break;
      case 'T':
        settings.inactivityTimeout = number(flagValue(arg, '-T'), '-T');
        break;
      case 'u':
        noAttached(arg);
        settings.direction = 'left-to-right';
        break;
      case 'U':
        noAttached(arg);
        settings.direction = 'right-to-left';
        break;
      case 'g':
        noAttached(arg);
        settings.ignoreGroups = true;
        break;
      case 'L':
      case 'W':
        if (out.lock) throw new TsocatError('only one -L and -W option allowed', 'EUSAGE');
        out.lock = { path: flagValue(arg, `-${c}`), wait: c === 'W' };
        break;
      case '0':
      case '4':
      case '6':
        noAttached(arg);
        settings.preferredFamily = c === '0' ? 0 : c === '4' ? 4 : 6;
        settings.anyFamily = c === '0';
        break;
      case '-':
        if (arg === '--statistics') settings.statistics = true;
        // the Node command-line convention; socat itself knows only -h and -V
        else if (arg === '--help') out.help = 1;
        else if (arg === '--version') out.version = true;
        else if (arg === '--list-serial') out.listSerial = true;
        else if (arg === '--progress') out.progress = true;
        else if (arg === '--completion' || arg.startsWith('--completion=')) out.completion = flagValue(arg, '--completion', arg.indexOf('=') + 1 || arg.length);
        else if (arg === '--metrics' || arg.startsWith('--metrics=')) out.metrics = parseListenAddress(flagValue(arg, '--metrics', '--metrics='.length));
        else if (arg === '--workers' || arg.startsWith('--workers=')) out.workers = workerCount(flagValue(arg, '--workers', arg.indexOf('=') + 1 || arg.length));
        else if (arg === '--experimental') settings.experimental = true;
        else if (arg === '--log-format=json' || (arg === '--log-format' && argv[i + 1] === 'json')) {
          log.format = 'json';
          if (arg === '--log-format') i++;
        } else if (arg === '--log-format=text' || (arg === '--log-format' && argv[i + 1] === 'text')) {
          log.format = 'text';
          if (arg === '--log-format') i++;
        } else throw new TsocatError(`unknown option "${arg}"; use option "-h" for help`, 'EUSAGE');
        break;
      default:
        throw new TsocatError(`unknown option "${arg}"; use option "-h" for help`, 'EUSAGE');
    }
    if (before) {
      restore(settings, before.settings);
      restore(log, before.log);
      restore(out, { ...before.out, settings, log });
      verbosity = before.verbosity;
    }
  }
  out.addresses = argv.slice(i);
  log.threshold = Math.max(LEVEL_NUMBER.D, LEVEL_NUMBER.E - (verbosity ?? 1));
  return out;
}
