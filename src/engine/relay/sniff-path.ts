/**
 * Names of -r/-R sniff files, expanded per session as socat does: $VAR or
 * ${VAR} from the environment (including the connection's SOCAT_PEERADDR…),
 * $$ the pid, $PROGNAME, $TIMESTAMP (%Y%m%dT%H%M%S) and $MICROS, both from
 * one clock reading so the two files of a session match. `\$` is a literal $;
 * an unknown variable expands to nothing.
 */
import { constants, createWriteStream, openSync, type WriteStream } from 'node:fs';
import { type SystemError, strerror, TsocatError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** One wall-clock reading: micros counts from the epoch, as nowMicros() gives it. */
export interface SniffClock {
  date: Date;
  micros: bigint;
}

function special(name: string, program: string, clock: SniffClock): string | undefined {
  const d = clock.date;
  if (name === 'PROGNAME') return program;
  if (name === 'TIMESTAMP') return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}T${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  if (name === 'MICROS') return String(clock.micros % 1000000n);
  return undefined;
}

export function expandSniffPath(template: string, vars: Record<string, string | undefined>, program: string, clock: SniffClock): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i] as string;
    if (c === '\\' && template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    if (c !== '$') {
      out += c;
      continue;
    }
    const next = template[i + 1];
    if (next === '$') {
      out += String(process.pid);
      i++;
      continue;
    }
    const braced = next === '{';
    const start = braced ? i + 2 : i + 1;
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(template.slice(start));
    if (!m) {
      out += '$';
      continue;
    }
    let end = start + m[0].length;
    if (braced) {
      if (template[end] !== '}') throw new TsocatError(`expandenv(source="${template}"): Syntax error`, 'EUSAGE');
      end++;
    }
    out += special(m[0], program, clock) ?? vars[m[0]] ?? '';
    i = end - 1;
  }
  return out;
}

/**
 * Opens a session's sniff file as socat does: created 0664, appended to,
 * never truncated. A failure is logged and the session goes on without it.
 */
export function openSniffFile(flag: '-r' | '-R', template: string, vars: Record<string, string | undefined>, program: string, clock: SniffClock, log: Logger): WriteStream | undefined {
  let path = template;
  try {
    path = expandSniffPath(template, vars, program, clock);
    const fd = openSync(path, constants.O_CREAT | constants.O_WRONLY | constants.O_APPEND | constants.O_NONBLOCK, 0o664);
    return createWriteStream('', { fd });
  } catch (err) {
    log.log('E', err instanceof TsocatError ? err.message : `option ${flag} "${path}": ${strerror(err as SystemError)}`);
    return undefined;
  }
}
