/**
 * setpgid for a program tsocat starts. socat calls setpgid() in its forked
 * child before exec(); Node cannot run code in the child between fork and
 * exec, and its `detached` makes a new session, not just a process group. So
 * the program starts through perl (Debian's essential perl-base), which calls
 * setpgid(0, pgid) and exec()s the program in place: same pid, descriptors,
 * environment and exit status. What fails there comes back on a report pipe
 * that closes itself on the exec, so tsocat knows the outcome before it relays.
 */
import { closeSync } from 'node:fs';
import { streamsForFd } from './fdstreams.js';

const PERL = '/usr/bin/perl';

// argv: report fd, pgid, file, argv0, args...; the report pipe is close-on-exec, so a successful exec ends it empty
const SCRIPT = [
  'use Fcntl;',
  'my ($report, $pgid, $file, @argv) = @ARGV;',
  "open(my $out, '>&=', $report) or exit 127;",
  'fcntl($out, F_SETFD, FD_CLOEXEC);',
  'select((select($out), $| = 1)[0]);',
  'print $out "setpgid\\t$!\\n" unless setpgrp(0, $pgid);',
  'exec { $file } @argv;',
  'print $out "exec\\t$!\\n";',
  'exit 127;',
].join(' ');

/** socat's setpgid=<n>: no value, 0 or 1 make the program leader of its own group (socat's man page). */
export function targetGroup(value: number): number {
  return value === 0 || value === 1 ? 0 : value;
}

export interface Launch {
  file: string;
  args: string[];
  argv0: string;
  /** The write end of the report pipe, to go at descriptor `reportFd` in the child. */
  reportEnd: number;
  /** What the launcher reports: a failed setpgid (program still started) or a failed exec. */
  outcome: Promise<{ setpgidError?: string; execError?: string }>;
  /** Close tsocat's copy of the write end once the child has its own. */
  started: () => void;
}

export async function launchInGroup(file: string, args: string[], argv0: string, pgid: number, reportFd: number): Promise<Launch> {
  const { makePipe } = await import('../sys/libc.js');
  const [readEnd, writeEnd] = makePipe();
  const report = streamsForFd(readEnd, 'r', { autoClose: true }).readable;
  const outcome = new Promise<{ setpgidError?: string; execError?: string }>((resolve) => {
    let text = '';
    report?.on('data', (d: Buffer) => {
      text += d.toString();
    });
    report?.on('error', () => resolve({}));
    report?.on('end', () => {
      report.destroy();
      const found: { setpgidError?: string; execError?: string } = {};
      for (const line of text.split('\n')) {
        const [what, message] = line.split('\t');
        if (what === 'setpgid') found.setpgidError = message;
        if (what === 'exec') found.execError = message;
      }
      resolve(found);
    });
  });
  return {
    file: PERL,
    args: ['-e', SCRIPT, '--', String(reportFd), String(targetGroup(pgid)), file, argv0, ...args],
    argv0: 'perl',
    reportEnd: writeEnd,
    outcome,
    started: () => closeSync(writeEnd),
  };
}
