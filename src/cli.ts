/**
 * The tsocat command: flags → logger → relay → exit status. Every user error
 * ends here as one socat-style log line and exit status 1; nothing else
 * reaches the terminal.
 */
import { closeSync, constants, openSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadRegistryFor } from '../addresses/index.js';
import { type CommandLine, parseCommandLine } from './cli/flags.js';
import { routeProcessOutput } from './cli/process-output.js';
import { type ExitSignal, signalsInMask } from './cli/signals.js';
import { Statistics } from './engine/relay/statistics.js';
import { memberPlan } from './engine/workers/member.js';
import type { TeamPlan } from './engine/workers/plan.js';
import { TsocatError } from './errors.js';
import { isatty } from './sys/builtins.js';
import { createLogger, DEFAULT_LOG_CONFIG, LEVEL_NUMBER, type Logger } from './log/logger.js';


function writeStdout(text: string): Promise<void> {
  return new Promise((resolve) => process.stdout.write(text, () => resolve()));
}

/** -L fails when the lock file exists; -W waits for it to go. The file holds tsocat's pid while it runs. */
async function takeLock(path: string, wait: boolean, log: Logger): Promise<() => void> {
  for (let tries = 0; ; tries++) {
    try {
      const fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      // the holder's pid and a newline, as socat writes it (socat's test.sh stops a relay by it)
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      return () => {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw new TsocatError(`open("${path}"): ${(err as Error).message}`, 'ELOCK');
      if (!wait) throw new TsocatError(`could not obtain lock "${path}"`, 'ELOCK');
      if (tries === 0) log.log('N', `waiting for lock "${path}"`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

import { exitWith } from './cli/exit.js';
import { loadedAddressFiles } from './plugin-folders.js';

export { exitWith };

/**
 * What this run loaded, for TSOCAT_DEBUG_MODULES (bin/tsocat.js prints it at exit):
 * the address family files, Node's built-in modules, and the files required from disk.
 */
export function loadedModules(): { families: string[]; builtins: string[]; files: string[] } {
  const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
  return {
    families: loadedAddressFiles(),
    builtins: list.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length)),
    files: Object.keys(createRequire(import.meta.url).cache),
  };
}

let signalled: ExitSignal | undefined;

/** --workers in the parent: the workers run this command again, and get the signals it handles (and SIGUSR1's statistics). */
function teamPlan(cmd: CommandLine, argv: readonly string[]): TeamPlan | undefined {
  if (cmd.workers === undefined) return undefined;
  const signals = [...signalsInMask(cmd.logSignals).map((s) => s.name), 'SIGUSR1' as const];
  return { role: 'parent', count: cmd.workers, script: process.argv[1] as string, argv, signals };
}

/**
 * True once a signal ended the relay. Then tsocat exits without waiting for
 * output still queued (socat exits at once on the signal): queued output to a
 * terminal or pipe that takes nothing would otherwise hold the exit.
 */
export function endedBySignal(): boolean {
  return signalled !== undefined;
}

/** 128 + the signal's number once a signal ended the relay (read through a call: a handler sets it while main() awaits). */
function exitStatusOnSignal(): number | undefined {
  return signalled && 128 + signalled.number;
}

export async function main(argv: readonly string[]): Promise<number> {
  let log: Logger = createLogger(DEFAULT_LOG_CONFIG);
  routeProcessOutput(log);
  let releaseLock: (() => void) | undefined;
  signalled = undefined;
  try {
    // tsocat's own subcommand: many relays from one file (src/serve/), loaded only when asked for
    if (argv[0] === 'serve') {
      const { serveCommand } = await import('./serve/command.js');
      return await serveCommand(argv.slice(1));
    }
    const cmd = parseCommandLine(argv);
    // --workers: a worker (started by its parent, src/engine/workers/) knows it from its environment
    const member = await memberPlan();
    if (member || (cmd.workers ?? 1) > 1) cmd.log.worker = member?.id ?? 0;
    log = createLogger(cmd.log);
    routeProcessOutput(log);
    if (cmd.version) {
      const { versionText } = await import('./cli/version-text.js');
      await writeStdout(await versionText());
      return 0;
    }
    if (cmd.help) {
      const { helpText } = await import('./cli/help.js');
      await writeStdout(await helpText(cmd.help));
      return 0;
    }
    if (cmd.completion !== undefined) {
      const { completionScript } = await import('./cli/completion.js');
      await writeStdout(await completionScript(cmd.completion));
      return 0;
    }
    if (cmd.listSerial) {
      const { serialListText } = await import('./engine/terminals/serial-line.js');
      await writeStdout(await serialListText(log));
      return 0;
    }
    if (cmd.addresses.length !== 2) {
      throw new TsocatError(`exactly 2 addresses required (there are ${cmd.addresses.length}); use option "-h" for help`, 'EUSAGE');
    }
    // the engine is loaded once there is something to relay: -V and -h do without it (and without node:net)
    const [{ relay }, { ownProcessMemory }, { isPassedOn }] = await Promise.all([
      import('./engine/relay/relay.js'),
      import('./engine/relay/at-rest.js'),
      import('./engine/programs/signal-pass.js'),
    ]);
    if (cmd.workers !== undefined && cmd.metrics) throw new TsocatError('option --workers not allowed with --metrics', 'EUSAGE');
    // the parent holds -L/-W's lock for the whole team
    if (cmd.lock && !member) releaseLock = await takeLock(cmd.lock.path, cmd.lock.wait, log);
    // the relay does not wait for the watchdog's thread to come up (worker_threads is loaded only for it)
    if (process.env.TSOCAT_LOOP_WATCHDOG !== undefined) {
      void import('./cli/loop-watchdog.js')
        .then(({ startLoopWatchdog }) => startLoopWatchdog())
        .then((bound) => bound && log.log('N', `loop watchdog: stalls over ${bound} ms are reported`));
    }

    const controller = new AbortController();
    for (const how of signalsInMask(cmd.logSignals)) {
      process.on(how.name, () => {
        // sighup/sigint/sigquit on a program address: the program gets the signal, tsocat goes on
        if (signalled || isPassedOn(how.name)) return;
        signalled = how;
        log.log(how.level, `exiting on signal ${how.number}`);
        controller.abort();
        // a relay that does not wind down promptly is ended anyway, as socat exits at once
        setTimeout(() => exitWith(128 + how.number), 1000).unref();
      });
    }
    const stats = new Statistics();
    const directions = { leftToRight: cmd.settings.direction !== 'right-to-left', rightToLeft: cmd.settings.direction !== 'left-to-right' };
    process.on('SIGUSR1', () => {
      log.log('N', 'socat_signal_logstats(): handling signal 10');
      stats.report(log, directions);
      log.log('N', 'socat_signal_logstats(): finishing signal 10');
    });
    const [a1, a2] = cmd.addresses as [string, string];
    // the process is tsocat's: a fork server at rest may collect garbage and keep V8's young generation small (at-rest.ts)
    ownProcessMemory();
    // --metrics: this relay's counters over HTTP, named after the program (-lp); the server loads only then
    const metrics = cmd.metrics && (await (await import('./serve/metrics.js')).serveMetrics(cmd.metrics, () => [[log.config.program, stats]]));
    // An in-memory relay (PIPE PIPE) leaves Node nothing to wait on; socat would wait for a signal, so do we.
    const keepAlive = setInterval(() => {}, 2 ** 30);
    // only the families the two addresses name are loaded (the bundled command's keyword table)
    // --progress, or a terminal's stderr with notices on (-d -d): a live line for a relay of one session
    const noticesOnStderr = log.config.threshold <= LEVEL_NUMBER.N && log.config.file === undefined && log.config.syslogFacility === undefined && log.config.mixedFacility === undefined;
    // isatty(2), not process.stderr.isTTY: making Node's stderr stream would turn a pipe's description non-blocking
    // (libuv), and the programs started per peer would inherit it so (they are then started by Node's spawn)
    const progress = cmd.progress || (noticesOnStderr && isatty(2)) ? await import('./cli/progress.js') : undefined;
    let stopProgress: (() => void) | undefined;
    const onForm =
      progress &&
      (({ fork }: { fork: boolean }) => {
        if (fork && cmd.progress) throw new TsocatError('--progress shows one session; address 1 has fork (--statistics or --metrics count every session)', 'EUSAGE');
        if (!fork) stopProgress = progress.startProgress(stats, directions);
      });
    const status = await loadRegistryFor([a1, a2])
      .then((registry) => relay(a1, a2, { settings: cmd.settings, log, signal: controller.signal, stats, registry, onForm, workers: member ?? teamPlan(cmd, argv) }))
      .finally(() => {
        stopProgress?.();
        clearInterval(keepAlive);
        if (metrics) metrics.close();
      });
    if (cmd.settings.statistics) stats.report(log, directions);
    const onSignal = exitStatusOnSignal();
    if (onSignal !== undefined) return onSignal;
    log.log('N', `exiting with status ${status}`);
    return status;
  } catch (err) {
    // an open cut short by SIGTERM/SIGINT is part of exiting on the signal, not a new error
    const onSignal = exitStatusOnSignal();
    if (onSignal !== undefined) return onSignal;
    if (err instanceof TsocatError) {
      log.log(err.level, err.message);
      return err.exitStatus;
    }
    // A bug, not a user error: still one line, no stack, unless debugging.
    log.log('E', `internal error: ${(err as Error)?.message ?? String(err)}`);
    if (process.env.TSOCAT_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    return 1;
  } finally {
    releaseLock?.();
  }
}
