/**
 * Sockets handed over by systemd's socket activation (sd_listen_fds(3)):
 * LISTEN_FDS descriptors, numbered from 3, named in order by LISTEN_FDNAMES
 * (colon-separated; systemd's FileDescriptorName=, by default the socket
 * unit's name), meant for the process LISTEN_PID names. Read once, as the
 * process starts: `ACCEPT-FD:<name>` finds its descriptor here, in a service
 * file's relays as on the command line.
 */
import { TsocatError } from '../../errors.js';

const FIRST = 3;

interface Passed {
  count: number;
  names: string[];
  /** LISTEN_PID, when it names another process. */
  otherPid?: string;
}

function read(env: NodeJS.ProcessEnv): Passed {
  const count = /^\d+$/.test(env.LISTEN_FDS ?? '') ? Number(env.LISTEN_FDS) : 0;
  const names = env.LISTEN_FDNAMES === undefined ? [] : env.LISTEN_FDNAMES.split(':');
  const pid = env.LISTEN_PID;
  return { count, names, otherPid: pid !== undefined && pid !== String(process.pid) ? pid : undefined };
}

const passed = read(process.env);

/** Whether `fd` is one of the sockets systemd passed: it stays open for the process's life, a relay works on a duplicate. */
export function isPassedSocket(fd: number): boolean {
  return passed.otherPid === undefined && fd >= FIRST && fd < FIRST + passed.count;
}

/** The descriptor LISTEN_FDNAMES gives `name`; a TsocatError, in one line, when there is none. */
export function passedSocketNamed(name: string): number {
  if (passed.names.length === 0) throw new TsocatError(`ACCEPT-FD: no socket named "${name}" was passed (LISTEN_FDNAMES is not set; a descriptor number or a socket name is expected)`, 'EBADFD');
  if (passed.otherPid !== undefined) throw new TsocatError(`ACCEPT-FD: the sockets in LISTEN_FDNAMES were passed to process ${passed.otherPid} (LISTEN_PID), not to this one (${process.pid})`, 'EBADFD');
  const at = passed.names.indexOf(name);
  if (at < 0 || at >= passed.count) throw new TsocatError(`ACCEPT-FD: no socket named "${name}" was passed (LISTEN_FDNAMES=${passed.names.join(':')}, LISTEN_FDS=${passed.count})`, 'EBADFD');
  return FIRST + at;
}
