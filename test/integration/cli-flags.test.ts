/**
 * The logging and miscellaneous command-line flags, each shown doing what it
 * says: -D, -d (all forms), -lf -lp -ls -lu -lh -ly -lm, --log-format, -s,
 * -L/-W, -0/-4/-6, -V, -h. Syslog is observed through a stand-in logger(1)
 * first on PATH that appends its arguments to a file: tsocat's -ly/-lm go
 * through logger(1), so the stand-in sees exactly what syslog would get.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, run, stop, TSOCAT, tempDir, tsocat, waitFor } from '../helpers.js';

const background = backgroundStarter();
const scratch = tempDir();
afterAll(() => scratch.cleanup());

/** A PATH whose logger(1) writes each call's arguments, `|`-separated, as one line of `file`. */
function syslogCapture(name: string): { env: NodeJS.ProcessEnv; lines: () => string[] } {
  const bin = join(scratch.dir, `${name}-bin`);
  const file = join(scratch.dir, `${name}-syslog.txt`);
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'logger'), `#!/bin/sh\nfor a in "$@"; do printf '%s|' "$a"; done >> '${file}'\necho >> '${file}'\n`);
  chmodSync(join(bin, 'logger'), 0o755);
  return {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    lines: () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []),
  };
}

/** The descriptor lines of a -D analysis, by descriptor number. */
function analysis(stderr: string): Map<number, string[]> {
  const fds = new Map<number, string[]>();
  for (const line of stderr.split('\n')) {
    const m = line.match(/^ *(\d+): (.*)$/);
    if (m) fds.set(Number(m[1]), (m[2] as string).split('\t'));
  }
  return fds;
}

const HEADER = /^ {2}FD {2}type\tdevice\tinode\tmode\tlinks\tuid\tgid\trdev\tsize\tblksize\tblocks\tatime\t+mtime\t+ctime\t+cloexec\tflags\tsigown\tsigio$/m;

describe('-D: descriptor analysis before the transfer', () => {
  it('shows a file with its inode, mode and size, and the pipe it writes to', async () => {
    const file = join(scratch.dir, 'd-file');
    writeFileSync(file, 'twelve bytes');
    const st = statSync(file);
    const r = await tsocat(['-D', '-u', `OPEN:${file}`, 'STDOUT']);
    expect(r.stdout.toString()).toBe('twelve bytes');
    expect(r.stderr).toMatch(HEADER);
    const fds = analysis(r.stderr);
    const [fileFd, fields] = [...fds].find(([, f]) => f[0] === 'file') ?? [];
    expect(fileFd).toBeGreaterThan(2);
    expect(fields?.slice(0, 9)).toEqual(['file', expect.stringMatching(/^\d+,\d+$/), String(st.ino), `0${st.mode.toString(8)}`, '1', String(st.uid), String(st.gid), '0,0', '12']);
    expect(fields?.join('\t')).toMatch(/\tpoll: (IN\(FIONREAD=\d+\),)?OUT$/);
    // Node gives a child's stdout a UNIX socketpair
    expect(fds.get(1)?.join('\t')).toMatch(/^socket\t.*\tAF=1 "" <-> AF=1 ""\t/);
  });

  it('shows a pipe with its kernel buffer size', async () => {
    const r = await run('sh', ['-c', `printf 'through a pipe' | "${process.execPath}" "${TSOCAT}" -D -u - STDOUT`]);
    expect(r.stdout.toString()).toBe('through a pipe');
    const stdin = analysis(r.stderr).get(0);
    expect(stdin?.[0]).toBe('pipe');
    expect(stdin?.join('\t')).toMatch(/\tF_GETPIPE_SZ=\d+\tpoll: /);
  });

  it('shows a TCP socket with both its addresses', async () => {
    let peerPort = 0;
    const server = createServer((s: Socket) => {
      peerPort = s.remotePort ?? 0;
      s.end('from server');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await tsocat(['-D', '-u', `TCP:127.0.0.1:${port}`, 'STDOUT']);
      expect(r.stdout.toString()).toBe('from server');
      const socket = [...analysis(r.stderr).values()].find((f) => f[0] === 'socket')?.join('\t');
      expect(socket).toContain(`AF=2 127.0.0.1:${peerPort} <-> AF=2 127.0.0.1:${port}`);
      expect(socket).toMatch(/\tTYPE=1\t/);
    } finally {
      server.close();
    }
  });

  it('prints nothing of the kind without -D', async () => {
    const r = await tsocat(['-u', '-', 'STDOUT'], { input: 'x' });
    expect(r.stderr).toBe('');
  });
});

describe('-d: verbosity', () => {
  it('flag -d -d, -dd and -d2 show notices; the default hides them', async () => {
    for (const flags of [['-d', '-d'], ['-dd'], ['-d2']]) {
      const r = await tsocat([...flags, '-', 'PIPE'], { input: 'x' });
      expect(r.stderr).toMatch(/ N starting data transfer loop with /);
    }
    expect((await tsocat(['-', 'PIPE'], { input: 'x' })).stderr).toBe('');
  });

  it('flag -d -d -d shows info lines, -d4 debug-level ones too', async () => {
    const r = await tsocat(['-d', '-d', '-d', '-', 'PIPE'], { input: 'x' });
    expect(r.stderr).toMatch(/ I left to right: end of file/);
    expect((await tsocat(['-d', '-d', '-', 'PIPE'], { input: 'x' })).stderr).not.toMatch(/ I /);
  });

  it('flag -d0 hides the warnings shown by default', async () => {
    const shown = await tsocat(['-', 'SYSTEM:exit 3'], { input: '' });
    expect(shown.stderr).toMatch(/ W waitpid\(\): child \d+ exited with status 3\n/);
    const hidden = await tsocat(['-d0', '-', 'SYSTEM:exit 3'], { input: '' });
    expect(hidden.stderr).toBe('');
  });
});

describe('log destinations and line format', () => {
  it('flag -lf appends log lines to a file and writes none to stderr', async () => {
    const log = join(scratch.dir, 'lf.log');
    writeFileSync(log, 'earlier\n');
    const r = await tsocat(['-lf', log, 'TCP:127.0.0.1:1', '-']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('');
    expect(readFileSync(log, 'utf8')).toMatch(/^earlier\n.* E connect\(AF=2 127\.0\.0\.1:1\): Connection refused\n$/);
  });

  it('flag -ls after -lf logs to stderr again', async () => {
    const log = join(scratch.dir, 'ls.log');
    const r = await tsocat(['-lf', log, '-ls', 'TCP:127.0.0.1:1', '-']);
    expect(r.stderr).toMatch(/ E connect\(AF=2 127\.0\.0\.1:1\): Connection refused\n$/);
    expect(existsSync(log) ? readFileSync(log, 'utf8') : '').toBe('');
  });

  it('flag -lp names the program, -lu adds microseconds, -lh adds the host name', async () => {
    const host = hostname().split('.')[0];
    const plain = await tsocat(['TCP:127.0.0.1:1', '-']);
    expect(plain.stderr).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d tsocat\[\d+\] E /);
    expect((await tsocat(['-lp', 'relay7', 'TCP:127.0.0.1:1', '-'])).stderr).toMatch(/^\S+ \S+ relay7\[\d+\] E /);
    expect((await tsocat(['-lu', 'TCP:127.0.0.1:1', '-'])).stderr).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6} tsocat\[/);
    expect((await tsocat(['-lh', 'TCP:127.0.0.1:1', '-'])).stderr).toMatch(new RegExp(`^\\S+ \\S+ ${host} tsocat\\[\\d+\\] E `));
  });

  it('flag --log-format json writes one JSON object a line; --log-format=text is the default layout', async () => {
    const json = await tsocat(['--log-format', 'json', 'TCP:127.0.0.1:1', '-']);
    expect(JSON.parse(json.stderr.trim())).toMatchObject({ socatLevel: 'E', msg: 'connect(AF=2 127.0.0.1:1): Connection refused' });
    const text = await tsocat(['--log-format=json', '--log-format=text', 'TCP:127.0.0.1:1', '-']);
    expect(text.stderr).toMatch(/^\S+ \S+ tsocat\[\d+\] E connect/);
  });

  it('flag -ly sends every line to syslog (facility daemon, or the one named) and none to stderr', async () => {
    const sys = syslogCapture('ly');
    const r = await tsocat(['-ly', '-d', '-d', '-', 'PIPE'], { input: 'x', env: sys.env });
    expect(r.stdout.toString()).toBe('x');
    expect(r.stderr).toBe('');
    expect(sys.lines()).toContainEqual(expect.stringMatching(/^-t\|tsocat\[\d+\]\|-p\|daemon\.notice\|N starting data transfer loop with /));
    await tsocat(['-lylocal3', 'TCP:127.0.0.1:1', '-'], { env: sys.env });
    expect(sys.lines()).toContainEqual(expect.stringMatching(/\|local3\.err\|E connect\(AF=2 127\.0\.0\.1:1\): Connection refused\|$/));
  });

  it('flag -lm logs to stderr while starting, then to syslog once the transfer runs', async () => {
    const sys = syslogCapture('lm');
    const r = await tsocat(['-lmlocal2', '-d', '-d', '-d', '-', 'PIPE'], { input: 'x', env: sys.env });
    expect(r.stdout.toString()).toBe('x');
    expect(r.stderr).toMatch(/ I switching to syslog\n$/);
    expect(r.stderr).not.toContain('starting data transfer loop');
    expect(sys.lines()).toContainEqual(expect.stringMatching(/\|local2\.notice\|N starting data transfer loop with /));
    expect(sys.lines()).toContainEqual(expect.stringMatching(/\|local2\.notice\|N exiting with status 0\|$/));
  });

  it('flag -lm: an error while opening still goes to stderr; a listener switches when its accept loop starts', async () => {
    const sys = syslogCapture('lm2');
    const refused = await tsocat(['-lm', 'TCP:127.0.0.1:1', '-'], { env: sys.env });
    expect(refused.stderr).toMatch(/ E connect\(AF=2 127\.0\.0\.1:1\): Connection refused\n$/);
    expect(sys.lines()).toEqual([]);
    const port = await freePort();
    // started here rather than with background(): it needs the stand-in logger on its PATH
    const listener = spawn(process.execPath, [TSOCAT, '-lm', '-d', '-d', '-d', `TCP4-LISTEN:${port}`, 'PIPE'], { env: sys.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    listener.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    try {
      await waitFor(() => sys.lines().some((l) => l.includes(`listening on AF=2 0.0.0.0:${port}`)));
      expect(err).toMatch(/ I starting accept loop, switching to syslog\n$/);
      expect(err).not.toContain('listening on');
    } finally {
      await stop(listener);
    }
  });
});

describe('-s: sloppy', () => {
  it('an unknown or misplaced address option is reported and left out, and the relay goes on', async () => {
    const file = join(scratch.dir, 'sloppy');
    const r = await tsocat(['-s', '-u', '-', `OPEN:${file},creat,nosuchopt,ipv6-v6only`], { input: 'still written\n' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/ E parseopts_table\(\): unknown option "nosuchopt"\n.* E parseopts_table\(\): option "ipv6-v6only" not supported with this address type\n$/);
    expect(readFileSync(file, 'utf8')).toBe('still written\n');
  });

  it('without -s the same option ends tsocat with status 1 before anything opens', async () => {
    const file = join(scratch.dir, 'strict');
    const r = await tsocat(['-u', '-', `OPEN:${file},creat,nosuchopt`], { input: 'x' });
    expect(r.status).toBe(1);
    expect(existsSync(file)).toBe(false);
  });
});

describe('-L / -W: lock file', () => {
  it('flag -L fails when the lock file exists, and takes and removes it otherwise', async () => {
    const lock = join(scratch.dir, 'L.lock');
    writeFileSync(lock, '');
    const held = await tsocat(['-L', lock, '-', 'PIPE'], { input: 'x' });
    expect(held.status).toBe(1);
    expect(held.stderr).toMatch(/ E could not obtain lock ".*L\.lock"\n$/);
    unlinkSync(lock);
    const free = await tsocat(['-L', lock, '-', 'PIPE'], { input: 'x' });
    expect(free.stdout.toString()).toBe('x');
    expect(existsSync(lock)).toBe(false);
  });

  it('flag -L writes the pid and a newline into the lock file while tsocat runs, as socat does', async () => {
    const lock = join(scratch.dir, 'pid.lock');
    const p = background(['-L', lock, '-', 'PIPE']);
    await waitFor(() => existsSync(lock) && readFileSync(lock, 'utf8') !== '', 8000, 'the lock file with the pid');
    expect(readFileSync(lock, 'utf8')).toBe(`${p.pid}\n`);
  });

  it('flag -W waits until the lock file is gone, then relays', async () => {
    const lock = join(scratch.dir, 'W.lock');
    writeFileSync(lock, '');
    const p = background(['-d', '-d', '-W', lock, '-', 'PIPE']);
    await waitFor(() => p.errors().includes('waiting for lock'));
    expect(p.exitCode).toBe(null);
    unlinkSync(lock);
    p.stdin?.end('after the lock\n');
    await waitFor(() => p.output() === 'after the lock\n', 8000);
  });
});

describe('-0 / -4 / -6: IP version', () => {
  async function listeningLine(flags: string[]): Promise<string> {
    const port = await freePort();
    const p = background([...flags, '-d', '-d', `TCP-LISTEN:${port}`, 'PIPE']);
    await waitFor(() => p.errors().includes('listening on'));
    return (p.errors().match(/listening on (AF=\d+ \S+)/)?.[1] ?? '').replace(`:${port}`, ':P');
  }

  it('flag -6 makes a listener IPv6, -4 (the last given wins) IPv4, -0 an IPv6 socket that takes both', async () => {
    expect(await listeningLine(['-6'])).toMatch(/^AF=10 \[.*\]:P$/);
    expect(await listeningLine(['-6', '-4'])).toBe('AF=2 0.0.0.0:P');
    expect(await listeningLine(['-4', '-0'])).toMatch(/^AF=10 \[.*\]:P$/);
  });
});

describe('-V / -h', () => {
  it('flag -V prints the version and features on stdout and exits 0', async () => {
    const r = await tsocat(['-V']);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toMatch(/version \S+/);
    expect(r.stderr).toBe('');
    // its second line ends with the socat release tsocat follows: socat's test.sh takes the last version number there
    // (sed 's/.* \([0-9][1-9]*\.[0-9][0-9]*\.[0-9][^[:space:]]*\).*/\1/') and gates its tests on it
    const second = r.stdout.toString().split('\n')[1] ?? '';
    expect(second).toMatch(/^tsocat version \S+ on Node\.js v\S+, following socat 1\.8\.1\.1$/);
    expect(second.replace(/.* ([0-9][1-9]*\.[0-9][0-9]*\.[0-9]\S*).*/, '$1')).toBe('1.8.1.1');
  });

  it('flag --experimental is accepted, and without an experimental option (netns: test/integration/netns.test.ts) changes nothing', async () => {
    const r = await tsocat(['--experimental', '-', 'PIPE'], { input: 'x' });
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe('x');
    expect(r.stderr).toBe('');
  });

  it('flag -h prints the usage, with -D and -s among the flags', async () => {
    const r = await tsocat(['-h']);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toMatch(/^.*\nUsage:\ntsocat \[options\] <bi-address> <bi-address>\n/);
    expect(r.stdout.toString()).toMatch(/\n {6}-D {5}\S/);
    expect(r.stdout.toString()).toMatch(/\n {6}-s {5}sloppy/);
  });
});
