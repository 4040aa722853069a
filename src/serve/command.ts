/**
 * `tsocat serve [--check] [--watch] [--metrics host:port] relays.yaml`: many
 * relays in one process, from one file, reloaded on SIGHUP (and on a change of
 * the file with --watch), with systemd's readiness
 * notes. tsocat's own subcommands parse with yargs (socat's flags never do:
 * src/cli/flags.ts), loaded only here so `tsocat A1 A2` never pays for it.
 */
import { readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { isAblated, traceUse } from '../ablation.js';
import { ownProcessMemory } from '../engine/relay/at-rest.js';
import { Statistics } from '../engine/relay/statistics.js';
import { type SystemError, strerror, TsocatError } from '../errors.js';
import { createLogger, DEFAULT_LOG_CONFIG, LEVEL_NUMBER, type Logger } from '../log/logger.js';
import { checkRelays, type CheckedRelay } from './relay-check.js';
import { type MetricsAddress, parseListenAddress } from './listen-address.js';
import { serveMetrics } from './metrics.js';
import { type FileProblem, problemText, readServiceFile } from './service-file.js';
import { monotonicMicros, notifier } from './sd-notify.js';
import { Supervisor } from './supervisor.js';

const require = createRequire(import.meta.url);

/** serve's own flags, by the names the ablation check knows them by (docs/testing.md). */
export const SERVE_FLAG_KEYS: readonly string[] = ['serve --check', 'serve --metrics', 'serve --log-format', 'serve --log-file', 'serve --watch'];

/** How long the file must be quiet after a change before it is read: an editor's write-then-rename is one change. */
const WATCH_QUIET_MS = 300;

/** A flag given to serve: traced for the ablation check, and undone when it is the one ablated. */
function given<T>(flag: string, value: T, absent: T, present: boolean): T {
  if (!present) return absent;
  traceUse(`serve ${flag}`);
  return isAblated(`serve ${flag}`) ? absent : value;
}

interface ServeArgs {
  file: string;
  check: boolean;
  /** --metrics, checked: where to listen. */
  metrics?: MetricsAddress;
  logFormat: 'text' | 'json';
  logFile?: string;
  /** --watch: reload when the file changes, as on SIGHUP. */
  watch: boolean;
}

/** serve's arguments, or the help text when --help was asked for. */
function parseServeArgs(argv: readonly string[]): ServeArgs | { helpText: string } {
  const yargs = require('yargs/yargs') as typeof import('yargs/yargs');
  let helpText = '';
  const parser = yargs([...argv])
    .scriptName('tsocat')
    .usage('tsocat serve [--check] [--watch] [--metrics <host>:<port>] <file.yaml>\n\nRuns every relay of a service file in one process (docs/service-file.md).')
    .option('check', { type: 'boolean', default: false, describe: 'validate the file without opening anything' })
    .option('metrics', { type: 'string', describe: 'serve Prometheus metrics on <host>:<port>' })
    .option('log-format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'log lines as text or JSON' })
    .option('log-file', { type: 'string', describe: 'append log lines to this file instead of stderr' })
    .option('watch', { type: 'boolean', default: false, describe: 'reload when the file changes, as on SIGHUP' })
    .strictOptions()
    .version(false)
    .help(false)
    .option('help', { alias: 'h', type: 'boolean', default: false, describe: 'show this help' })
    .exitProcess(false)
    .fail((message, err) => {
      throw new TsocatError(`serve: ${message ?? err?.message}`, 'EUSAGE');
    });
  const args = parser.parseSync();
  if (args.help) {
    parser.showHelp((text) => {
      helpText = text;
    });
    return { helpText };
  }
  const files = args._.map(String);
  if (files.length !== 1) throw new TsocatError(`serve: exactly one service file required (there are ${files.length}); use "tsocat serve --help" for help`, 'EUSAGE');
  const present = (flag: string) => argv.some((a) => a === flag || a.startsWith(`${flag}=`));
  if (args.check && args.watch) throw new TsocatError('serve: --check and --watch exclude each other (--check opens nothing and exits)', 'EUSAGE');
  return {
    file: files[0] as string,
    check: given('--check', args.check, false, present('--check')),
    metrics: given('--metrics', args.metrics === undefined ? undefined : parseListenAddress(args.metrics), undefined, present('--metrics')),
    logFormat: given('--log-format', args['log-format'], 'text' as const, present('--log-format')),
    logFile: given('--log-file', args['log-file'], undefined, present('--log-file')),
    watch: given('--watch', args.watch, false, present('--watch')),
  };
}

/** The file read and every relay in it checked; throws TsocatError when the file cannot be read. */
async function loadFile(file: string): Promise<{ relays: CheckedRelay[]; problems: FileProblem[] }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TsocatError(`serve: cannot read "${file}": ${strerror(err as SystemError)}`, 'ENOENT');
  }
  const parsed = readServiceFile(text, file);
  const checked = await checkRelays(parsed.relays, file);
  const problems = [...parsed.problems, ...checked.problems].sort((a, b) => a.line - b.line);
  return { relays: checked.relays, problems };
}

function reportProblems(log: Logger, problems: readonly FileProblem[]): void {
  for (const p of problems) log.always('E', problemText(p));
}

/** Runs `tsocat serve …` (argv after "serve"); resolves with the exit status. */
export async function serveCommand(argv: readonly string[]): Promise<number> {
  const args = parseServeArgs(argv);
  if ('helpText' in args) {
    process.stdout.write(`${args.helpText}\n`);
    return 0;
  }
  // serve's own lines (started, reloaded) are notices; each relay logs at its own -d level
  const log = createLogger({ ...DEFAULT_LOG_CONFIG, format: args.logFormat, file: args.logFile, threshold: LEVEL_NUMBER.N });
  const first = await loadFile(args.file);
  if (args.check) {
    reportProblems(log, first.problems);
    if (first.problems.length > 0) return 1;
    process.stdout.write(`${args.file}: ${first.relays.length} relays, ${first.relays.filter((r) => r.definition.enabled).length} enabled, no errors\n`);
    return 0;
  }
  if (first.problems.length > 0) {
    reportProblems(log, first.problems);
    throw new TsocatError(`serve: "${args.file}" has ${first.problems.length} error(s); nothing started`, 'EUSAGE');
  }
  return serveRelays(args, first.relays, log);
}

async function serveRelays(args: ServeArgs, relays: CheckedRelay[], log: Logger): Promise<number> {
  ownProcessMemory();
  // the programs relays start are no business of the service manager's: they do not inherit its socket
  const notifySocket = process.env.NOTIFY_SOCKET;
  delete process.env.NOTIFY_SOCKET;
  const notify = notifier(log, notifySocket);
  // each relay's counters, by name; a changed relay keeps counting where it was, a removed one leaves the metrics
  const counters = new Map<string, Statistics>();
  const countersFor = (name: string) => counters.get(name) ?? counters.set(name, new Statistics()).get(name);
  const metrics = args.metrics ? await serveMetrics(args.metrics, () => counters.entries()) : undefined;
  if (metrics) log.log('N', `metrics on http://${args.metrics?.text}/metrics`);
  const supervisor = new Supervisor(log, { statsFor: countersFor, relayFailed: (name) => countersFor(name)?.countError('relay') });
  const forgetRemoved = (removed: readonly string[]) => {
    for (const name of removed) counters.delete(name);
  };
  const initial = await supervisor.apply(relays);
  log.log('N', `serving ${initial.added.length} relays from "${args.file}" (pid ${process.pid})`);
  notify.send('READY=1', `STATUS=${initial.added.length} relays`);

  // reloads run one at a time; a SIGHUP during one runs another after it
  let reloading: Promise<void> = Promise.resolve();
  const reload = async () => {
    notify.send('RELOADING=1', `MONOTONIC_USEC=${monotonicMicros()}`);
    try {
      const next = await loadFile(args.file);
      if (next.problems.length > 0) {
        reportProblems(log, next.problems);
        log.always('E', `reload: "${args.file}" has ${next.problems.length} error(s); every relay runs on as before`);
      } else {
        const o = await supervisor.apply(next.relays);
        forgetRemoved(o.removed);
        log.log('N', `reload: ${o.added.length} added, ${o.removed.length} removed, ${o.changed.length} changed, ${o.unchanged.length} unchanged`);
      }
    } catch (err) {
      log.always('E', `reload: ${(err as Error).message}; every relay runs on as before`);
    }
    notify.send('READY=1', `STATUS=${supervisor.names.length} relays`);
  };
  process.on('SIGHUP', () => {
    log.log('N', 'reloading on signal 1');
    reloading = reloading.then(reload);
  });
  const watcher = args.watch
    ? watchFile(args.file, log, () => {
        log.log('N', `reloading on a change of "${args.file}"`);
        reloading = reloading.then(reload);
      })
    : undefined;

  const stopped = new Promise<number>((resolve) => {
    for (const [name, number] of [['SIGTERM', 15], ['SIGINT', 2]] as const) {
      process.on(name, () => {
        log.log('N', `stopping every relay on signal ${number}`);
        notify.send('STOPPING=1');
        // relays that do not wind down promptly are ended anyway, as socat exits at once
        setTimeout(() => resolve(0), 2000).unref();
        void supervisor.stopAll().then(() => resolve(0));
      });
    }
  });
  // a file whose relays all end (or none is enabled) still waits for a reload or a signal
  const keepAlive = setInterval(() => {}, 2 ** 30);
  try {
    return await stopped;
  } finally {
    clearInterval(keepAlive);
    watcher?.close();
    metrics?.close();
  }
}

/**
 * Calls `changed` once the file's text differs from what it was and has been
 * quiet for WATCH_QUIET_MS. The directory is watched, not the file: an editor
 * that saves by writing a new file and renaming it over the old one replaces
 * the inode a file watch would follow. Saves that leave the text as it was
 * (touch, an editor's second write) reload nothing.
 */
function watchFile(file: string, log: Logger, changed: () => void): { close(): void } {
  const name = basename(file);
  const read = () => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  };
  let last = read();
  let timer: NodeJS.Timeout | undefined;
  const settle = () => {
    timer = undefined;
    const now = read();
    // a file that is gone for now (mid-rename, or deleted) is waited for, not reloaded as an error
    if (now === undefined || now === last) return;
    last = now;
    changed();
  };
  const watcher = watch(dirname(file), { persistent: false }, (_event, entry) => {
    if (entry !== null && entry !== name) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(settle, WATCH_QUIET_MS);
  });
  watcher.on('error', (err) => log.always('E', `watch: "${file}": ${err.message}; reload with SIGHUP`));
  log.log('N', `watching "${file}" for changes`);
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
