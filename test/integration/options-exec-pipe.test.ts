/**
 * The options of EXEC/SYSTEM (pipes, fdin, fdout, stderr, nofork, setsid,
 * setpgid, path, su), of the unnamed PIPE and TEXT (kernel pipes, FD options
 * on their read end) and of PIPE:<path> (OPEN flags, NAMED options). Each test
 * shows the option's effect, so it fails when the option is ignored.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backgroundStarter, requireOrSkip, stop, tempDir, tsocat, waitFor } from '../helpers.js';
import { holds } from '../fd-inspect.js';

const background = backgroundStarter();
/** Changing owners and users needs root (CI runs as root). */
const NOBODY = 65534;

let dir = '';
let cleanup = () => {};
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

/** A script that prints `pid pgid sid` of itself and `pgid sid` of its parent (tsocat). */
function idProbe(): string {
  const probe = join(dir, 'ids');
  writeFileSync(probe, '#!/bin/sh\nset -- $(sed "s/.*) //" /proc/$$/stat); me="$$ $3 $4"\nset -- $(sed "s/.*) //" /proc/$PPID/stat); echo "$me $3 $4"\n', { mode: 0o755 });
  return probe;
}

async function idsUnder(options: string): Promise<{ pid: number; pgid: number; sid: number; parentPgid: number; parentSid: number }> {
  const r = await tsocat(['-u', `EXEC:${idProbe()}${options}`, 'STDOUT']);
  expect(r.stderr).toBe('');
  const [pid, pgid, sid, parentPgid, parentSid] = r.stdout.toString().trim().split(' ').map(Number) as number[];
  return { pid: pid as number, pgid: pgid as number, sid: sid as number, parentPgid: parentPgid as number, parentSid: parentSid as number };
}

/** The descriptors of process `pid` whose link matches `target`, with their open flags (from fdinfo). */
function descriptorsOf(pid: number, target: (link: string) => boolean): Array<{ fd: number; link: string; flags: number }> {
  const found: Array<{ fd: number; link: string; flags: number }> = [];
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return found;
  }
  for (const fd of fds) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (!target(link)) continue;
      const flags = Number.parseInt(/flags:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0', 8);
      found.push({ fd: Number(fd), link, flags });
    } catch {
      // closed meanwhile
    }
  }
  return found;
}

/** Whether /proc/locks shows a write lock of `kind` held by `pid` on inode `inode`. */
function writeLockShown(kind: 'FLOCK', pid: number, inode: string | number): boolean {
  return new RegExp(`${kind} +ADVISORY +WRITE +${pid} +[0-9a-f]+:[0-9a-f]+:${inode} `).test(readFileSync('/proc/locks', 'utf8'));
}

/** The pipes tsocat itself holds (its stdio from the test are socket pairs, so every pipe is the address's). */
const pipesOf = (pid: number) => descriptorsOf(pid, (link) => link.startsWith('pipe:'));
const O_ACCMODE = 3;

describe('EXEC/SYSTEM options', () => {
  it('pipes: the program reads and writes kernel pipes; without it a socket pair', async () => {
    const kind = async (options: string) => (await tsocat(['-', `SYSTEM:stat -L -c %F /dev/stdin /dev/stdout${options}`], { input: '' })).stdout.toString();
    expect(await kind(',pipes')).toBe('fifo\nfifo\n');
    expect(await kind('')).toBe('socket\nsocket\n');
  });

  it('socketpair is not an option (socat 1.7 and 1.8 do not know it either)', async () => {
    const r = await tsocat(['-', 'SYSTEM:cat,pipes,socketpair'], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E parseopts_table\(\): unknown option "socketpair"\n$/);
  });

  it('fdin and fdout: the relay talks to the program on descriptors 3 and 4', async () => {
    const r = await tsocat(['-', 'SYSTEM:read line <&3; echo "got $line" >&4,fdin=3,fdout=4'], { input: 'hello\n' });
    expect(r).toMatchObject({ status: 0, stdout: Buffer.from('got hello\n') });
  });

  it("stderr: the program's error output goes into the relay instead of tsocat's stderr", async () => {
    const r = await tsocat(['-u', 'SYSTEM:echo oops >&2,stderr', 'STDOUT']);
    expect(r.stdout.toString()).toBe('oops\n');
    expect(r.stderr).toBe('');
  });

  it("nofork: the program's stdin is tsocat's own stdin, not a channel to tsocat", async () => {
    const r = await tsocat(['-', 'SYSTEM:readlink /proc/$$/fd/0 /proc/$PPID/fd/0 | uniq | wc -l,nofork'], { input: '' });
    expect(r.stdout.toString().trim()).toBe('1');
  });

  it("setsid: the program leads a new session (and its group)", async () => {
    const ids = await idsUnder(',setsid');
    expect(ids.sid).toBe(ids.pid);
    expect(ids.pgid).toBe(ids.pid);
    expect(ids.parentSid).not.toBe(ids.pid);
  });

  it("setpgid: the program leads its own process group in tsocat's session (not a new session)", async () => {
    for (const form of [',setpgid', ',setpgid=0', ',pgid=1']) {
      const ids = await idsUnder(form);
      expect(ids.pgid, form).toBe(ids.pid);
      expect(ids.sid, form).toBe(ids.parentSid);
    }
    const plain = await idsUnder('');
    expect(plain.pgid).toBe(plain.parentPgid);
  });

  it('setpgid: a group that cannot be joined is a warning; the program runs in tsocat\'s group', async () => {
    const r = await tsocat(['-u', `EXEC:${idProbe()},setpgid=999999`, 'STDOUT']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/ W setpgid\(0, 999999\): (Operation not permitted|No such process)\n$/);
    const [, pgid, , parentPgid] = r.stdout.toString().trim().split(' ');
    expect(pgid).toBe(parentPgid);
  });

  it('setpgid keeps what the program is: its pid, descriptors, environment, exit status and exec errors', async () => {
    const probe = join(dir, 'probe');
    writeFileSync(probe, '#!/bin/sh\necho "$$ $PROBE_VAR"\nexit 3\n', { mode: 0o755 });
    const withGroup = await tsocat(['-d', '-d', '-d', '-u', `EXEC:${probe},setpgid`, 'STDOUT'], { env: { ...process.env, PROBE_VAR: 'kept' } });
    const [pid, value] = withGroup.stdout.toString().trim().split(' ');
    expect(value).toBe('kept');
    expect(withGroup.stderr).toContain(` I forked off child process ${pid}\n`);
    expect(withGroup.stderr).toContain(`child ${pid} exited with status 3`);
    // the launcher's report pipe is gone by the time the program runs (ls is not a shell: it opens nothing of its own but the directory)
    const descriptors = async (options: string) => (await tsocat(['-u', `EXEC:ls /proc/self/fd${options}`, 'STDOUT'])).stdout.toString();
    expect(await descriptors(',setpgid')).toBe(await descriptors(''));
    const missing = await tsocat(['-u', 'EXEC:no-such-program-here,setpgid', 'STDOUT']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/ E execvp\("no-such-program-here", \.\.\.\): No such file or directory\n$/);
  });

  it('setpgid is refused on STDIO, as socat refuses it there', async () => {
    const r = await tsocat(['STDIO,setpgid', 'PIPE'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/option "setpgid" not supported with this address type\n$/);
  });

  it('path: the program is looked up in the given PATH', async () => {
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'only-here'), '#!/bin/sh\necho found\n', { mode: 0o755 });
    const r = await tsocat(['-u', `EXEC:only-here,path=${join(dir, 'bin')}:/usr/bin:/bin`, 'STDOUT']);
    expect(r).toMatchObject({ status: 0, stdout: Buffer.from('found\n') });
  });

  it('su: the program runs as that user (needs root)', async (ctx) => {
    requireOrSkip(ctx, 'root');
    const r = await tsocat(['-u', 'SYSTEM:id -u,su=nobody', 'STDOUT']);
    expect(r.stdout.toString().trim()).toBe(String(NOBODY));
  });
});

describe('unnamed PIPE and TEXT are kernel pipes', () => {
  it('PIPE,perm: the echo pipe is a kernel pipe whose mode perm sets (fchmod)', async () => {
    const p = background(['-', 'PIPE,perm=0640']);
    await waitFor(() => pipesOf(p.pid as number).some(({ fd }) => (statSync(`/proc/${p.pid}/fd/${fd}`).mode & 0o777) === 0o640));
    p.stdin?.end('still echoes\n');
    await waitFor(() => p.output() === 'still echoes\n');
  });

  it('PIPE,user,group: fchown on the pipe (needs root)', async (ctx) => {
    requireOrSkip(ctx, 'root');
    const p = background(['-', 'PIPE,user=nobody,group=65533']);
    await waitFor(() => pipesOf(p.pid as number).some(({ fd }) => statSync(`/proc/${p.pid}/fd/${fd}`).uid === NOBODY && statSync(`/proc/${p.pid}/fd/${fd}`).gid === 65533));
  });

  it('PIPE,flock-ex: the pipe is locked (it shows in /proc/locks)', async () => {
    const p = background(['-', 'PIPE,flock-ex']);
    await waitFor(() => pipesOf(p.pid as number).some(({ link }) => writeLockShown('FLOCK', p.pid as number, link.slice('pipe:['.length, -1))));
  });

  it('PIPE,setlk fails on the read end as in socat (a write lock needs a writable descriptor)', async () => {
    const r = await tsocat(['-', 'PIPE,setlk'], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E fcntl\(\d+, F_SETLK, .*\): Bad file descriptor\n$/);
  });

  it('PIPE refuses the options that need a name (socat fails on them too)', async () => {
    for (const option of ['o-trunc', 'creat', 'rdonly', 'unlink-early', 'unlink-close=0']) {
      const r = await tsocat(['-', `PIPE,${option}`], { input: 'x' });
      expect(r.status, option).toBe(1);
      expect(r.stderr, option).toMatch(/ E parseopts_table\(\): option "[a-z-]+" not supported with this address type\n$/);
    }
  });

  it('TEXT,setlk: FD options act on the pipe the text comes from (a write lock on its read end fails, as in socat)', async () => {
    const r = await tsocat(['-u', 'TEXT:hello,setlk', 'STDOUT']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E fcntl\(\d+, F_SETLK, .*\): Bad file descriptor\n$/);
    expect(await tsocat(['-u', 'TEXT:hello', 'STDOUT'])).toMatchObject({ status: 0, stdout: Buffer.from('hello') });
  });

  it('TEXT longer than a pipe holds comes through whole', async () => {
    const text = 'x'.repeat(100000);
    const r = await tsocat(['-u', `TEXT:${text}`, 'STDOUT']);
    expect(r.stdout.length).toBe(text.length);
  });
});

describe('PIPE:<path> options', () => {
  /** A FIFO made by the test (so tsocat did not create it). */
  const fifo = (name = 'fifo') => {
    const path = join(dir, name);
    execFileSync('mkfifo', [path]);
    return path;
  };

  it('creat,excl: opening an existing FIFO fails, as open(2) with O_CREAT|O_EXCL', async () => {
    const path = fifo();
    const r = await tsocat(['-', `PIPE:${path},o-creat,o-excl`], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E open\(".*fifo", 0302, 0666\): File exists\n$/);
  });

  it('directory: a FIFO is not a directory; trunc and noctty reach open(2) (its flags in the message, as socat prints them)', async () => {
    const r = await tsocat(['-', `PIPE:${join(dir, 'f')},directory,o-trunc,noctty`], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E open\(".*\/f", 0201402, 0666\): Not a directory\n$/);
    expect(existsSync(join(dir, 'f'))).toBe(false);
  });

  it('nofollow: a symbolic link to a FIFO is refused', async () => {
    const path = fifo();
    symlinkSync(path, join(dir, 'link'));
    const r = await tsocat(['-', `PIPE:${join(dir, 'link')},nofollow`], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Too many levels of symbolic links\n$/);
    const followed = await tsocat(['-', `PIPE:${join(dir, 'link')}`], { input: 'x' });
    expect(followed).toMatchObject({ status: 0, stdout: Buffer.from('x') });
  });

  it('rdwr: a read-only use opens the FIFO O_RDWR (so the open does not wait for a writer)', async () => {
    const path = fifo();
    const p = background(['-u', `PIPE:${path},rdwr`, 'STDOUT']);
    await waitFor(() => descriptorsOf(p.pid as number, (l) => l === path).some(({ flags }) => (flags & O_ACCMODE) === constants.O_RDWR));
  });

  it('rdonly: a two-way use opens the FIFO O_RDONLY', async () => {
    const path = fifo();
    const p = background(['-t', '30', `PIPE:${path},rdonly`, '-']);
    // the read-only open waits for a writer; give it one
    let writer: number | undefined;
    await waitFor(() => {
      try {
        writer ??= openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
      } catch {
        // no reader yet
      }
      return descriptorsOf(p.pid as number, (l) => l === path).some(({ flags }) => (flags & O_ACCMODE) === constants.O_RDONLY);
    });
    if (writer !== undefined) closeSync(writer);
  });

  it('wronly: a two-way use opens the FIFO O_WRONLY', async () => {
    const path = fifo();
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const p = background(['-t', '30', `PIPE:${path},wronly`, '-']);
      await waitFor(() => descriptorsOf(p.pid as number, (l) => l === path).some(({ flags }) => (flags & O_ACCMODE) === constants.O_WRONLY));
    } finally {
      closeSync(reader);
    }
  });

  it('direct: O_DIRECT reaches open(2), which refuses it on a FIFO (as in socat)', async () => {
    const path = fifo();
    const r = await tsocat(['-', `PIPE:${path},o-direct`], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E open\(".*fifo", 040002, 0666\): Invalid argument\n$/);
  });

  it('append, sync, noatime: status flags of the open FIFO', async () => {
    const path = fifo();
    const p = background(['-t', '30', `PIPE:${path},o-append,o-sync,o-noatime`, '-']);
    const wanted = constants.O_APPEND | constants.O_SYNC | (constants.O_NOATIME ?? 0);
    await waitFor(() => descriptorsOf(p.pid as number, (l) => l === path).some(({ flags }) => (flags & wanted) === wanted));
  });

  it('nonblock: a read-only open does not wait for a writer', async () => {
    const path = fifo();
    const p = background(['-u', `PIPE:${path},nonblock`, 'STDOUT']);
    await waitFor(() => descriptorsOf(p.pid as number, (l) => l === path).length > 0);
  });

  it('setlk, setlkw, flock-ex, flock-ex-nb: the FIFO is locked (it shows in /proc/locks)', async () => {
    const path = fifo();
    for (const [option, kind] of [['setlk', 'FCNTL'], ['setlkw', 'FCNTL'], ['flock-ex', 'FLOCK'], ['flock-ex-nb', 'FLOCK']] as const) {
      const p = background(['-t', '30', `PIPE:${path},${option}`, '-']);
      await waitFor(() => holds(path, kind, p.pid as number, 'WRITE'));
      await stop(p);
    }
  });

  it('cloexec=0: the FIFO descriptor stays open across exec (tsocat opens with close-on-exec by default)', async () => {
    const path = fifo();
    const O_CLOEXEC = 0o2000000;
    const open = background(['-t', '30', `PIPE:${path},cloexec=0`, '-']);
    await waitFor(() => descriptorsOf(open.pid as number, (l) => l === path).some(({ flags }) => (flags & O_CLOEXEC) === 0));
    const closing = background(['-t', '30', `PIPE:${path}`, '-']);
    await waitFor(() => descriptorsOf(closing.pid as number, (l) => l === path).some(({ flags }) => (flags & O_CLOEXEC) !== 0));
  });

  it('f-setpipe-sz: the FIFO gets that kernel buffer size', async () => {
    const path = fifo();
    // another opener of the same FIFO asks the pipe its size (F_GETPIPE_SZ is 1032; perl is on every Debian system)
    const size = () => execFileSync('perl', ['-e', 'open(F, "+<", $ARGV[0]) or die; print fcntl(F, 1032, 0)', path]).toString();
    expect(size()).toBe('65536');
    const p = background(['-t', '30', `PIPE:${path},f-setpipe-sz=262144`, '-']);
    await waitFor(() => descriptorsOf(p.pid as number, (l) => l === path).length > 0 && size() === '262144');
  });

  it('cool-write: a reader that goes away ends the relay quietly (exit 0), otherwise with an error', async () => {
    const path = fifo();
    const writeUntilReaderGoes = async (options: string) => {
      // head reads one byte and leaves; tsocat's next writes meet EPIPE
      const reader = spawn('head', ['-c1', path], { stdio: 'ignore' });
      const r = await tsocat(['-u', '-', `PIPE:${path}${options}`], { input: Buffer.alloc(1 << 20, 'y') });
      await new Promise((resolve) => (reader.exitCode !== null ? resolve(null) : reader.once('exit', resolve)));
      return r;
    };
    const quiet = await writeUntilReaderGoes(',cool-write');
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).not.toMatch(/ E /);
    const loud = await writeUntilReaderGoes('');
    expect(loud.status).toBe(1);
    expect(loud.stderr).toMatch(/ E write\(.*fifo\): Broken pipe\n$/);
  });

  it('unlink: whatever is at the path is removed and a fresh FIFO made (and removed at the end)', async () => {
    const path = join(dir, 'entry');
    writeFileSync(path, 'a regular file\n');
    const r = await tsocat(['-', `PIPE:${path},unlink`], { input: 'through a fifo\n' });
    expect(r).toMatchObject({ status: 0, stdout: Buffer.from('through a fifo\n') });
    expect(existsSync(path)).toBe(false);
  });

  it('unlink-early: the same, before anything else', async () => {
    const path = join(dir, 'entry');
    writeFileSync(path, 'a regular file\n');
    const r = await tsocat(['-', `PIPE:${path},unlink-early`], { input: 'early\n' });
    expect(r).toMatchObject({ status: 0, stdout: Buffer.from('early\n') });
    expect(existsSync(path)).toBe(false);
  });

  it('unlink-late: the FIFO (existing or made) is removed once it is open; the relay goes on', async () => {
    const path = fifo();
    const r = await tsocat(['-', `PIPE:${path},unlink-late`], { input: 'late\n' });
    expect(r).toMatchObject({ status: 0, stdout: Buffer.from('late\n') });
    expect(existsSync(path)).toBe(false);
    const made = join(dir, 'made');
    expect(await tsocat(['-', `PIPE:${made},unlink-late`], { input: 'made\n' })).toMatchObject({ status: 0, stdout: Buffer.from('made\n') });
    expect(existsSync(made)).toBe(false);
    const kept = fifo('kept');
    await tsocat(['-', `PIPE:${kept}`], { input: 'x' });
    expect(statSync(kept).isFIFO()).toBe(true);
  });

  it('unlink-close=0: a FIFO tsocat made stays behind; by default it is removed', async () => {
    const path = join(dir, 'made');
    await tsocat(['-', `PIPE:${path},unlink-close=0`], { input: 'x' });
    expect(statSync(path).isFIFO()).toBe(true);
    const other = join(dir, 'gone');
    await tsocat(['-', `PIPE:${other}`], { input: 'x' });
    expect(existsSync(other)).toBe(false);
  });

  it('perm: the FIFO tsocat makes is made with that mode (less the umask, as in socat)', async () => {
    const path = join(dir, 'made');
    await tsocat(['-', `PIPE:${path},perm=0604,unlink-close=0`], { input: 'x' });
    expect(statSync(path).mode & 0o777).toBe(0o604);
  });

  it('user, group: the FIFO is owned by them (needs root)', async (ctx) => {
    requireOrSkip(ctx, 'root');
    const path = join(dir, 'made');
    await tsocat(['-', `PIPE:${path},user=nobody,group=65533,unlink-close=0`], { input: 'x' });
    expect(statSync(path)).toMatchObject({ uid: NOBODY, gid: 65533 });
  });
});

describe('SHELL: shell= chooses the shell', () => {
  // $SHELL is /bin/sh here; the command prints the shell's $0 (socat gives the file name), the SHELL the program sees and bash's major version (empty in sh)
  // read at each run, so the ablation check's TSOCAT_ABLATE (set per test) reaches tsocat
  const env = () => ({ ...process.env, SHELL: '/bin/sh' });
  it('shell=/bin/bash runs the command with bash, named bash, and sets SHELL for it; without it $SHELL runs', async () => {
    const withIt = await tsocat(['-u', 'SHELL:echo $0 $SHELL $BASH_VERSINFO,shell=/bin/bash', 'STDOUT'], { env: env() });
    expect(withIt.stderr).toBe('');
    expect(withIt.stdout.toString()).toMatch(/^bash \/bin\/bash \d+\n$/);
    const without = await tsocat(['-u', 'SHELL:echo $0 $SHELL $BASH_VERSINFO', 'STDOUT'], { env: env() });
    expect(without.stdout.toString()).toBe('sh /bin/sh\n');
  });

  it('a shell without a path is refused with socat\'s words; shell= on SYSTEM is outside its groups', async () => {
    const bare = await tsocat(['-u', 'SHELL:true,shell=bash', 'STDOUT'], { env: env() });
    expect(bare.status).toBe(1);
    expect(bare.stderr).toMatch(/ E SHELL "bash" variable does not specify a path \(has no '\/'\)\n$/);
    const system = await tsocat(['-u', 'SYSTEM:true,shell=/bin/bash', 'STDOUT'], { env: env() });
    expect(system.status).toBe(1);
    expect(system.stderr).toMatch(/ E parseopts_table\(\): option "shell" not supported with this address type\n$/);
  });
});
