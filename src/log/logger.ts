/**
 * socat-style diagnostics: `YYYY/MM/DD HH:MM:SS prog[pid] L message` on stderr,
 * or pino JSON with --log-format json. A message whose level is off costs one
 * comparison: callers pass plain strings, never build them for nothing.
 */
import { appendFileSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { type Level, type SystemError, strerror, TsocatError } from '../errors.js';

/** socat's numeric levels: D=0 … F=5. */
export const LEVEL_NUMBER: Record<Level, number> = { D: 0, I: 1, N: 2, W: 3, E: 4, F: 5 };
const PINO_LEVEL: Record<Level, string> = { D: 'debug', I: 'info', N: 'info', W: 'warn', E: 'error', F: 'fatal' };

export interface LogConfig {
  /** Lowest level printed (socat default: E; each -d lowers it by one). */
  threshold: number;
  program: string;
  /** -lu: microseconds in timestamps. */
  micros: boolean;
  /** -lh: host name in each line. */
  withHost: boolean;
  /** -lf: file to append to instead of stderr. */
  file?: string;
  /** -ly[facility]: syslog. */
  syslogFacility?: string;
  /** -lm[facility]: stderr while starting, then syslog with this facility ('' = daemon) once the relay runs. */
  mixedFacility?: string;
  format: 'text' | 'json';
  /** --workers: this process's number in the team (0 the parent), a field of every JSON line. */
  worker?: number;
}

export const DEFAULT_LOG_CONFIG: LogConfig = {
  threshold: LEVEL_NUMBER.W,
  program: 'tsocat',
  micros: false,
  withHost: false,
  format: 'text',
};

export interface Logger {
  enabled(level: Level): boolean;
  log(level: Level, message: string): void;
  /**
   * Logs whatever the -d threshold, as socat raises its level to print statistics.
   * `fields` go into a JSON line as they are (the session line's bytes and duration); text lines leave them out.
   */
  always(level: Level, message: string, fields?: Record<string, unknown>): void;
  /**
   * Start-up is over (an accept loop or the transfer begins): with -lm this is
   * where logging moves from stderr to syslog, as socat's does. `what` names
   * the phase in the info line, e.g. "starting accept loop".
   */
  startRunning(what?: string): void;
  config: LogConfig;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Local time as socat's strftime("%Y/%m/%d %H:%M:%S"), with optional microseconds. */
export function timestamp(date: Date, micros: boolean, hr?: bigint): string {
  const base = `${date.getFullYear()}/${pad(date.getMonth() + 1)}/${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  if (!micros) return base;
  const us = hr !== undefined ? Number(hr % 1000000n) : date.getMilliseconds() * 1000;
  return `${base}.${pad(us, 6)}`;
}

/**
 * Milliseconds on a monotonic clock, for durations. Not performance.now():
 * Node loads perf_hooks (a dozen modules) on the first use of \`performance\`.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Wall clock in microseconds, for timestamps finer than Date offers (-lu, dumps). */
export function nowMicros(): { date: Date; micros: bigint } {
  // timeOrigin + now() is wall-clock time with sub-millisecond steps that never go backwards
  const exact = performance.timeOrigin + performance.now();
  return { date: new Date(Math.floor(exact)), micros: BigInt(Math.floor(exact * 1000)) };
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));
/** How long a full stderr pipe may hold up one log line before it is dropped (1 ms steps). */
const MAX_PAUSES = 5000;

/**
 * Writes a whole line. stderr may be a non-blocking pipe that a slow reader lets fill up;
 * then the rest of the line waits for room (bounded) instead of being lost or cut.
 */
let beforeStderrLine: (() => void) | undefined;

/** Runs `hook` before each line written to stderr (a live progress line on a terminal clears itself first: src/cli/progress.ts). */
export function onStderrLine(hook: (() => void) | undefined): void {
  beforeStderrLine = hook;
}

function writeWhole(fd: number, line: string): void {
  if (fd === 2) beforeStderrLine?.();
  const bytes = Buffer.from(line);
  let done = 0;
  for (let pauses = 0; done < bytes.length && pauses < MAX_PAUSES; ) {
    try {
      done += writeSync(fd, bytes, done);
    } catch (err) {
      // stderr gone (closed pipe): nothing sensible left to report to
      if ((err as { code?: string }).code !== 'EAGAIN') return;
      pauses++;
      Atomics.wait(PAUSE, 0, 0, 1);
    }
  }
}

export function createLogger(config: LogConfig): Logger {
  const host = config.withHost ? hostname().split('.')[0] : '';
  let fd = 2;
  if (config.file) {
    // socat opens the log file once, appending; a bad path is a fatal error, in socat's words.
    try {
      fd = openSync(config.file, 'a');
    } catch (err) {
      throw new TsocatError(`cannot open log file "${config.file}": ${strerror(err as SystemError)}`, 'ELOGFILE');
    }
  }
  let pinoLogger: { [k: string]: (obj: object, msg: string) => void } | undefined;
  const writeLine = (line: string) => writeWhole(fd, line);

  const logger: Logger = {
    config,
    enabled: (level) => LEVEL_NUMBER[level] >= config.threshold,
    log(level, message) {
      if (LEVEL_NUMBER[level] >= config.threshold) logger.always(level, message);
    },
    always(level, message, fields) {
      if (config.format === 'json') {
        pinoLogger ??= createPino(config, fd);
        pinoLogger[PINO_LEVEL[level]]?.({ socatLevel: level, ...fields }, message);
        return;
      }
      if (config.syslogFacility !== undefined) {
        sendSyslog(config, level, message);
        return;
      }
      // whole seconds need no finer clock than Date
      const { date, micros } = config.micros ? nowMicros() : { date: new Date(), micros: undefined };
      const hostPart = host ? ` ${host}` : '';
      writeLine(`${timestamp(date, config.micros, micros)}${hostPart} ${config.program}[${process.pid}] ${level} ${message}\n`);
    },
    startRunning(what) {
      const facility = config.mixedFacility;
      if (facility === undefined) {
        if (what) logger.log('I', what);
        return;
      }
      logger.log('I', what ? `${what}, switching to syslog` : 'switching to syslog');
      config.mixedFacility = undefined;
      config.syslogFacility = facility || 'daemon';
    },
  };
  return logger;
}

// pino is loaded only when JSON logs are asked for, so the default start-up never pays for it.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
function createPino(config: LogConfig, fd: number) {
  const pino = require('pino') as typeof import('pino').default;
  return pino(
    { name: config.program, level: 'debug', base: { pid: process.pid, ...(config.worker !== undefined ? { worker: config.worker } : {}), ...(config.withHost ? { hostname: hostname() } : {}) } },
    pino.destination({ fd, sync: true }),
  ) as unknown as { [k: string]: (obj: object, msg: string) => void };
}

const SYSLOG_PRIORITY: Record<Level, string> = { F: 'crit', E: 'err', W: 'warning', N: 'notice', I: 'info', D: 'debug' };
const FACILITY: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

/** Facility names socat's -ly accepts; used to validate the flag. */
export function isSyslogFacility(name: string): boolean {
  return name in FACILITY;
}

/**
 * Node has no UNIX datagram sockets, so syslog lines go through logger(1),
 * which speaks to /dev/log for us; see docs/architecture.md.
 */
function sendSyslog(config: LogConfig, level: Level, message: string): void {
  const facility = config.syslogFacility || 'daemon';
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const tag = `${config.program}[${process.pid}]`;
  const r = spawnSync('logger', ['-t', tag, '-p', `${facility}.${SYSLOG_PRIORITY[level]}`, `${level} ${message}`], { stdio: 'ignore' });
  if (r.error) appendFileSync('/dev/stderr', `${tag} ${level} ${message}\n`);
}
