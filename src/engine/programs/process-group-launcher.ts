/**
 * What socat does in its forked child before exec() and Node's spawn cannot:
 * setpgid (Node's `detached` makes a new session, not just a process group),
 * chroot, and changing user and groups the way socat does (spawn's uid/gid
 * also drop every supplementary group, which setuid must not). The program
 * starts through perl (Debian's essential perl-base), which makes those calls
 * in order and exec()s the program in place: same pid, descriptors,
 * environment and exit status. What fails there comes back on a report pipe
 * that closes itself on the exec, so tsocat knows the outcome before it relays.
 */
import { closeSync } from 'node:fs';
import { streamsForFd } from '../descriptors/fdstreams.js';

const PERL = '/usr/bin/perl';

// argv: report fd, steps (what=value) up to "--", file, argv0, args...; the report pipe is close-on-exec,
// so a successful exec ends it empty. A failed setpgid is a warning (socat goes on); the others are fatal.
const SCRIPT = [
  'use Fcntl; use POSIX ();',
  'my $report = shift @ARGV;',
  "open(my $out, '>&=', $report) or exit 127;",
  'fcntl($out, F_SETFD, FD_CLOEXEC);',
  'select((select($out), $| = 1)[0]);',
  'sub fatal { print $out "fatal\\t$_[0]: $!\\n"; exit 127; }',
  'while (@ARGV && $ARGV[0] ne "--") {',
  '  my ($what, $v) = split(/=/, shift(@ARGV), 2); $! = 0;',
  '  if ($what eq "pgid") { print $out "setpgid\\t$!\\n" unless setpgrp(0, $v); }',
  '  elsif ($what eq "chroot") { chroot($v) or fatal("chroot(\\"$v\\")"); chdir("/") or fatal("chdir(\\"/\\")"); }',
  '  elsif ($what eq "groups") { my @g = split(/,/, $v); $) = "$g[0] @g"; fatal("setgroups(" . scalar(@g) . ")") if $!; }',
  '  elsif ($what eq "gid") { POSIX::setgid($v); fatal("setgid($v)") if $!; }',
  '  elsif ($what eq "uid") { POSIX::setuid($v) or fatal("setuid($v)"); }',
  // ctty as socat does it: let go of an old controlling terminal, take the pty's, make our group its foreground; failures warn
  '  elsif ($what eq "ctty") { if (sysopen(my $t, "/dev/tty", O_RDONLY | O_NOCTTY)) { ioctl($t, 0x5422, 0); close($t); }',
  '    my $c; (open($c, "+<&=", $v) && ioctl($c, 0x540E, 0)) or print $out "warn\\tioctl($v, TIOCSCTTY, NULL): $!\\n";',
  '    POSIX::tcsetpgrp(0, $$) or print $out "warn\\ttcsetpgrp($$): $!\\n"; }',
  '}',
  'shift @ARGV; my ($file, @argv) = @ARGV;',
  'exec { $file } @argv;',
  'print $out "exec\\t$!\\n";',
  'exit 127;',
].join(' ');

/** socat's setpgid=<n>: no value, 0 or 1 make the program leader of its own group (socat's man page). */
export function targetGroup(value: number): number {
  return value === 0 || value === 1 ? 0 : value;
}

/** What the launcher reports: a failed setpgid (program still started), a failed step or a failed exec. */
export interface LaunchOutcome {
  setpgidError?: string;
  /** A whole message, e.g. `chroot("/x"): No such file or directory`; the program did not start. */
  stepError?: string;
  execError?: string;
  /** Whole messages of steps that failed without stopping the program (ctty), logged as warnings. */
  warnings?: string[];
}

export interface Launch {
  file: string;
  args: string[];
  argv0: string;
  /** The write end of the report pipe, to go at descriptor `reportFd` in the child. */
  reportEnd: number;
  outcome: Promise<LaunchOutcome>;
  /** Close tsocat's copy of the write end once the child has its own. */
  started: () => void;
}

function readOutcome(text: string): LaunchOutcome {
  const found: LaunchOutcome = {};
  for (const line of text.split('\n')) {
    const [what, message] = line.split('\t');
    if (what === 'setpgid') found.setpgidError = message;
    if (what === 'fatal') found.stepError = message;
    if (what === 'exec') found.execError = message;
    if (what === 'warn' && message) (found.warnings ??= []).push(message);
  }
  return found;
}

/**
 * Starts `file` through the launcher, which first makes the calls in `steps`
 * (`pgid=<n>`, `chroot=<dir>`, `groups=<g,...>`, `gid=<n>`, `uid=<n>`, `ctty=<fd>`: the terminal on that descriptor becomes the controlling one), in order.
 */
export async function launchWith(file: string, args: string[], argv0: string, steps: string[], reportFd: number): Promise<Launch> {
  const { makePipe } = await import('../../sys/libc.js');
  const [readEnd, writeEnd] = makePipe();
  const report = streamsForFd(readEnd, 'r', { autoClose: true }).readable;
  const outcome = new Promise<LaunchOutcome>((resolve) => {
    let text = '';
    report?.on('data', (d: Buffer) => {
      text += d.toString();
    });
    report?.on('error', () => resolve({}));
    report?.on('end', () => {
      report.destroy();
      resolve(readOutcome(text));
    });
  });
  return {
    file: PERL,
    args: ['-e', SCRIPT, '--', String(reportFd), ...steps, '--', file, argv0, ...args],
    argv0: 'perl',
    reportEnd: writeEnd,
    outcome,
    started: () => closeSync(writeEnd),
  };
}
