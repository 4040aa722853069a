/**
 * The FD, NAMED, OPEN and REG options socat 1.8 has beyond the ones tsocat
 * started with: each shown by what it does to a real file or descriptor —
 * where reading starts, what another process finds locked, the mode and owner
 * a file ends with, the flags the kernel reports in /proc/<pid>/fdinfo, and
 * what a child program inherits.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, linkSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fdFlags, holds, locksOn, openFlagsIn, stopWhenDone } from '../fd-inspect.js';
import { backgroundStarter, requireOrSkip, requires, stop, tempDir, tsocat, waitFor } from '../helpers.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

const start = backgroundStarter();
const at = (name: string) => join(dir, name);
const modeOf = (path: string) => (statSync(path).mode & 0o7777).toString(8);

/** A background tsocat, once it has applied every option and relays (its -dd notice says so). */
async function relaying(args: string[]) {
  const p = start(['-d', '-d', ...args]);
  await waitFor(() => p.errors().includes('starting data transfer loop'), 8000);
  return p;
}

const O_NONBLOCK = 0o4000;
const O_DSYNC = 0o10000;
const O_ASYNC = 0o20000;
const O_SYNC = 0o4010000;

describe('seek-end, seek-cur and the lseek32/lseek64 spellings', () => {
  it('OPEN:f,seek-end=-6 reads the last 6 bytes', async () => {
    writeFileSync(at('f'), 'line1\nline2\nline3\n');
    const r = await tsocat(['-u', `OPEN:${at('f')},seek-end=-6`, '-']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe('line3\n');
  });

  it.each(['lseek64-end', 'lseek32-end'])('%s is seek-end', async (alias) => {
    writeFileSync(at('f'), '0123456789');
    expect((await tsocat(['-u', `OPEN:${at('f')},${alias}=-2`, '-'])).stdout.toString()).toBe('89');
  });

  it('seek-end=0,ignoreeof follows a growing file like tail -f: only what is appended is relayed', async () => {
    writeFileSync(at('log'), 'old line\n');
    const p = await relaying(['-u', `OPEN:${at('log')},seek-end=0,ignoreeof`, 'STDOUT']);
    appendFileSync(at('log'), 'new line\n');
    await waitFor(() => p.output().includes('new line\n'), 8000);
    expect(p.output()).toBe('new line\n');
  });

  it('seek=4,seek-cur=2 starts at byte 6; seek-cur alone moves from the start', async () => {
    writeFileSync(at('f'), '0123456789');
    expect((await tsocat(['-u', `OPEN:${at('f')},seek=4,seek-cur=2`, '-'])).stdout.toString()).toBe('6789');
    expect((await tsocat(['-u', `OPEN:${at('f')},lseek64-cur=3`, '-'])).stdout.toString()).toBe('3456789');
    expect((await tsocat(['-u', `OPEN:${at('f')},lseek32-cur=8`, '-'])).stdout.toString()).toBe('89');
  });

  it.each(['lseek64-set', 'lseek64', 'lseek32-set', 'lseek32'])('%s=7 is seek=7', async (alias) => {
    writeFileSync(at('f'), '0123456789');
    expect((await tsocat(['-u', `OPEN:${at('f')},${alias}=7`, '-'])).stdout.toString()).toBe('789');
  });

  it('seek-end=-4 for writing overwrites the last 4 bytes', async () => {
    writeFileSync(at('f'), '0123456789');
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},seek-end=-4`], { input: 'ab' })).status).toBe(0);
    expect(readFileSync(at('f'), 'utf8')).toBe('012345ab89');
  });
});

describe('ftruncate32 and ftruncate64', () => {
  it.each(['ftruncate64', 'ftruncate32'])('%s=3 cuts the file once it is open', async (alias) => {
    writeFileSync(at('f'), '0123456789');
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},${alias}=3`], { input: 'a' })).status).toBe(0);
    expect(readFileSync(at('f'), 'utf8')).toBe('a12');
  });
});

describe('shared locks: flock-sh, flock-sh-nb, f-setlk-rd, f-setlkw-rd', () => {
  it('flock-sh: another shared flock succeeds, an exclusive one fails while tsocat relays', async (ctx) => {
    requireOrSkip(ctx, 'flock');
    writeFileSync(at('f'), '');
    const p = start(['-u', '-', `OPEN:${at('f')},flock-sh`]);
    await waitFor(() => holds(at('f'), 'FLOCK', p.pid as number, 'READ'));
    expect(spawnSync('flock', ['-n', '-s', at('f'), 'true']).status).toBe(0);
    expect(spawnSync('flock', ['-n', '-x', at('f'), 'true']).status).toBe(1);
    p.stdin?.end();
    expect(await stopWhenDone(p)).toBe(0);
  });

  it('flock-sh-nb: tsocat fails at once while flock(1) holds the file exclusively', async (ctx) => {
    requireOrSkip(ctx, 'flock');
    writeFileSync(at('f'), '');
    const holder = spawn('flock', ['-x', at('f'), 'sleep', '30'], { stdio: 'ignore' });
    try {
      await waitFor(() => locksOn(at('f')).some((l) => l.includes('FLOCK')));
      const r = await tsocat(['-u', '-', `OPEN:${at('f')},flock-sh-nb`], { input: 'x' });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/E flock\(\d+, LOCK_SH\|LOCK_NB\): Resource temporarily unavailable\n$/);
      expect(readFileSync(at('f'), 'utf8')).toBe('');
    } finally {
      await stop(holder);
    }
  });

  it('f-setlk-rd: a read lock shows in /proc/locks, and a write lock (f-setlk-wr) is refused meanwhile', async () => {
    writeFileSync(at('f'), '');
    const p = start(['-u', '-', `OPEN:${at('f')},rdwr,f-setlk-rd`]);
    await waitFor(() => holds(at('f'), 'FCNTL', p.pid as number, 'READ'));
    const second = await tsocat(['-u', '-', `OPEN:${at('f')},f-setlk-wr`], { input: 'x' });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/F_SETLK\b.*F_WRLCK.*: Resource temporarily unavailable/);
    p.stdin?.end();
    expect(await stopWhenDone(p)).toBe(0);
  });

  it('f-setlk-rd on a descriptor open only for writing fails as in socat (EBADF)', async () => {
    writeFileSync(at('f'), '');
    const r = await tsocat(['-u', '-', `OPEN:${at('f')},setlk-rd`], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/F_RDLCK.*: Bad file descriptor/);
  });

  it('f-setlkw-rd waits while another tsocat holds a write lock (lock), then takes its read lock', async () => {
    writeFileSync(at('f'), 'data');
    const writer = start(['-u', '-', `OPEN:${at('f')},lock`]);
    await waitFor(() => holds(at('f'), 'FCNTL', writer.pid as number, 'WRITE'));
    // the wait is tsocat's own (F_SETLK tried again), so it shows in its log, not in /proc/locks
    const reader = start(['-d', '-d', '-d', '-u', `OPEN:${at('f')},f-setlkw-rd`, '-']);
    await waitFor(() => reader.errors().includes('waiting for lock on fd'));
    expect(reader.output()).toBe('');
    writer.stdin?.end();
    expect(await stopWhenDone(writer)).toBe(0);
    expect(await stopWhenDone(reader)).toBe(0);
    expect(reader.output()).toBe('data');
  });
});

describe('perm-late, user-late, group-late: the open file, once the address is open', () => {
  it('perm-late=0600 changes an existing file (perm would leave it alone)', async () => {
    writeFileSync(at('f'), '');
    chmodSync(at('f'), 0o644);
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},perm-late=0600`], { input: 'x' })).status).toBe(0);
    expect(modeOf(at('f'))).toBe('600');
  });

  it('CREATE:new,perm-late=0777 is not masked by the umask (perm would be)', async () => {
    expect((await tsocat(['-u', '-', `CREATE:${at('new')},perm-late=0777,umask=022`], { input: 'x' })).status).toBe(0);
    expect(modeOf(at('new'))).toBe('777');
  });

  it('user-late=nobody and group-late=nogroup (uid-l, gid-l) change the owner', async (ctx) => {
    requireOrSkip(ctx, 'root', 'nobody');
    writeFileSync(at('f'), '');
    writeFileSync(at('g'), '');
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},user-late=nobody,group-late=nogroup`], { input: 'x' })).status).toBe(0);
    expect([statSync(at('f')).uid, statSync(at('f')).gid]).toEqual([65534, 65534]);
    expect((await tsocat(['-u', '-', `OPEN:${at('g')},uid-l=65534,gid-l=65534`], { input: 'x' })).status).toBe(0);
    expect([statSync(at('g')).uid, statSync(at('g')).gid]).toEqual([65534, 65534]);
  });
});

describe('perm-early, user-early, group-early: an existing entry before it is opened', () => {
  it('perm-early=0600 changes a file that exists; a file the open creates keeps its creation mode', async () => {
    writeFileSync(at('f'), '');
    chmodSync(at('f'), 0o644);
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},perm-early=0600`], { input: 'x' })).status).toBe(0);
    expect(modeOf(at('f'))).toBe('600');
    expect((await tsocat(['-u', '-', `OPEN:${at('new')},creat,perm-early=0600,umask=022`], { input: 'x' })).status).toBe(0);
    expect(modeOf(at('new'))).toBe('644');
  });

  it('the change is on the name before the open: a hard link to the old inode sees it, and so does the file unlink-late removes', async () => {
    writeFileSync(at('f'), 'data');
    chmodSync(at('f'), 0o644);
    linkSync(at('f'), at('link'));
    expect((await tsocat(['-u', `OPEN:${at('f')},perm-early=0640,unlink-late`, '-'])).stdout.toString()).toBe('data');
    expect(existsSync(at('f'))).toBe(false);
    expect(modeOf(at('link'))).toBe('640');
  });

  it('user-early=nobody and group-early=nogroup (uid-e, gid-e) change the owner', async (ctx) => {
    requireOrSkip(ctx, 'root', 'nobody');
    writeFileSync(at('f'), '');
    writeFileSync(at('g'), '');
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},user-early=nobody,group-early=nogroup`], { input: 'x' })).status).toBe(0);
    expect([statSync(at('f')).uid, statSync(at('f')).gid]).toEqual([65534, 65534]);
    expect((await tsocat(['-u', '-', `OPEN:${at('g')},uid-e=65534,gid-e=65534`], { input: 'x' })).status).toBe(0);
    expect([statSync(at('g')).uid, statSync(at('g')).gid]).toEqual([65534, 65534]);
  });

  it('PIPE:fifo,perm-early=0600 applies to the named pipe', async () => {
    expect((await tsocat(['-u', '-', `PIPE:${at('fifo')},perm-early=0600,unlink-close=0,rdwr`], { input: 'x' })).status).toBe(0);
    expect(modeOf(at('fifo'))).toBe('600');
  });
});

describe('ioctl-void, ioctl-int, ioctl-intp, ioctl-bin, ioctl-string', () => {
  const listing = 'SYSTEM:ls -l /proc/self/fd >listing; cat >/dev/null';

  it.each(['ioctl-void', 'ioctl'])('OPEN:f,%s=0x5450 (FIONCLEX) clears close-on-exec: the program started by the other address inherits the file', async (option) => {
    writeFileSync(at('f'), 'data');
    expect((await tsocat(['-u', `OPEN:${at('f')},${option}=0x5450`, listing], { cwd: dir })).status).toBe(0);
    expect(readFileSync(at('listing'), 'utf8')).toContain(`-> ${at('f')}`);
  });

  it.each([
    ['ioctl-intp', '0x5421:1'],
    ['ioctl-bin', '0x5421:x01000000'],
    ['ioctl-string', '0x5421:aaaa'],
  ])('%s=%s (FIONBIO with a pointer to a non-zero int) makes the descriptor non-blocking', async (option, value) => {
    writeFileSync(at('f'), '');
    const p = await relaying(['-u', '-', `OPEN:${at('f')},${option}=${value}`]);
    expect((await openFlagsIn(p, at('f'))) & O_NONBLOCK).toBe(O_NONBLOCK);
    p.stdin?.end();
    expect(await stopWhenDone(p)).toBe(0);
  });

  it('ioctl-int passes the value itself: FIONBIO given 1 as a pointer fails with EFAULT, as in socat', async () => {
    writeFileSync(at('f'), '');
    const r = await tsocat(['-u', '-', `OPEN:${at('f')},ioctl-int=0x5421:1`], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E ioctl\(\d+, 0x5421, 0x1\): Bad address\n$/);
  });

  it('a request the file does not know fails with ENOTTY', async () => {
    writeFileSync(at('f'), '');
    const r = await tsocat(['-u', `OPEN:${at('f')},ioctl-void=0x540b`, '-']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E ioctl\(\d+, 0x540b, NULL\): Inappropriate ioctl for device\n$/);
  });
});

describe('open flags: o-dsync, o-rsync, o-async, ndelay, largefile', () => {
  it.each([
    ['o-dsync', O_DSYNC],
    ['dsync', O_DSYNC],
    ['o-rsync', O_SYNC],
    ['rsync', O_SYNC],
    ['o-async', O_ASYNC],
    ['async', O_ASYNC],
    ['ndelay', O_NONBLOCK],
    ['o-ndelay', O_NONBLOCK],
  ])('OPEN:f,%s: the kernel reports the flag on the descriptor', async (option, bit) => {
    writeFileSync(at('f'), '');
    const p = await relaying(['-u', '-', `OPEN:${at('f')},${option}`]);
    expect((await openFlagsIn(p, at('f'))) & bit).toBe(bit);
    p.stdin?.end();
    expect(await stopWhenDone(p)).toBe(0);
  });

  it('STDIN,async sets O_ASYNC on a descriptor tsocat did not open (fcntl)', async () => {
    const p = await relaying(['-u', 'STDIN,async', `OPEN:${at('out')},creat`]);
    expect(fdFlags(p.pid as number, 0) & O_ASYNC).toBe(O_ASYNC);
    p.stdin?.end('x');
    expect(await stopWhenDone(p)).toBe(0);
    expect(readFileSync(at('out'), 'utf8')).toBe('x');
  });

  it('largefile is accepted and changes nothing on 64-bit Linux, where every open is large-file', async () => {
    writeFileSync(at('f'), '0123');
    expect((await tsocat(['-u', `OPEN:${at('f')},largefile`, '-'])).stdout.toString()).toBe('0123');
  });

  it('o-dsync on an unnamed PIPE is refused (there is no open(2) to take it), as socat fails on it', async () => {
    const r = await tsocat(['-u', '-', 'PIPE,o-dsync'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/option "o-dsync" not supported with this address type/);
  });
});

describe('aliases socat 1.8 has for options tsocat had', () => {
  it('o-create creates the file', async () => {
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},o-create`], { input: 'x' })).status).toBe(0);
    expect(readFileSync(at('f'), 'utf8')).toBe('x');
  });

  it.each(['delete', 'remove', 'new'])('%s removes the old entry: a new file is created, the hard link keeps the old content', async (alias) => {
    writeFileSync(at('f'), 'old');
    linkSync(at('f'), at('link'));
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},creat,${alias}`], { input: 'new' })).status).toBe(0);
    expect(readFileSync(at('f'), 'utf8')).toBe('new');
    expect(readFileSync(at('link'), 'utf8')).toBe('old');
  });

  it.each(['f-setlkw-wr', 'f-setlkw', 'lockw', 'setlkw-wr'])('%s takes a waiting write lock', async (alias) => {
    writeFileSync(at('f'), '');
    const p = start(['-u', '-', `OPEN:${at('f')},${alias}`]);
    await waitFor(() => holds(at('f'), 'FCNTL', p.pid as number, 'WRITE'));
    p.stdin?.end();
    expect(await stopWhenDone(p)).toBe(0);
  });

  it.each(['f-setlk', 'setlk-wr'])('%s takes a write lock, failing when it is held', async (alias) => {
    writeFileSync(at('f'), '');
    const p = start(['-u', '-', `OPEN:${at('f')},${alias}`]);
    await waitFor(() => holds(at('f'), 'FCNTL', p.pid as number, 'WRITE'));
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},${alias}`], { input: 'x' })).status).toBe(1);
    p.stdin?.end();
    expect(await stopWhenDone(p)).toBe(0);
  });
});

describe('inode flag aliases (chattr)', () => {
  requires('lsattr');
  it.each([
    ['nodump', 'd'],
    ['ext3-nodump', 'd'],
    ['ext3-noatime', 'A'],
  ])('OPEN:f,%s sets lsattr flag %s', async (option, letter, ctx) => {
    writeFileSync(at('f'), '');
    const r = await tsocat(['-u', '-', `OPEN:${at('f')},${option}`], { input: '' });
    if (r.status !== 0 && /Inappropriate ioctl|Operation not supported/.test(r.stderr)) {
      // tmpfs and others have no inode flags: the refusal is the kernel's, as socat gets it
      expect(r.stderr).toMatch(/FS_IOC_(GET|SET)FLAGS/);
      return void ctx;
    }
    expect(r.status, r.stderr).toBe(0);
    const flags = spawnSync('lsattr', [at('f')], { encoding: 'utf8' }).stdout.split(' ')[0] ?? '';
    expect(flags).toContain(letter);
  });
});

/** Bad values for the new options: one E line, exit 1, the file untouched. */
describe('bad values', () => {
  const BAD: Array<[string, string]> = [
    ['seek-end=abc', 'parseopts(): missing numerical value of option "seek-end=abc"'],
    ['seek-cur=5x', 'parseopts(): trailing garbage in numerical arg of option "seek-cur=5x"'],
    ['lseek32-set=-1', /^lseek64\(\d+, -1, 0\): Invalid argument$/.source],
    ['ftruncate64=-1,rdwr', /^ftruncate64\(\d+, -1\): Invalid argument$/.source],
    ['ioctl-int=5', 'parseopts(): option "ioctl-int": 2 arguments required'],
    ['ioctl-bin=0x5421:zz', 'parseopts_table(): problem with "zz" data'],
    ['ioctl-string=req:abc', 'parseopts(): missing numerical value of option "ioctl-string=req:abc"'],
    ['ioctl-intp=0x5421:1x', 'parseopts(): trailing garbage in numerical arg of option "ioctl-intp=0x5421:1x"'],
    ['ioctl-void=zz', 'parseopts(): missing numerical value of option "ioctl-void=zz"'],
    ['perm-late=9', 'parseopts(): missing numerical value of option "perm-late=9"'],
    ['perm-early=07x', 'parseopts(): trailing garbage in numerical arg of option "perm-early=07x"'],
    ['user-late=nosuchuser', 'getpwnam("nosuchuser"): no such user'],
    ['group-early=nosuchgroup', 'getgrnam("nosuchgroup"): no such group'],
    ['flock-sh=maybe', 'parseopts(): missing numerical value of option "flock-sh=maybe"'],
  ];
  it.each(BAD)('OPEN:existing,%s', async (option, message) => {
    writeFileSync(at('existing'), 'keep me\n');
    chmodSync(at('existing'), 0o644);
    const r = await tsocat(['-u', `OPEN:${at('existing')},${option}`, '-'], { timeoutMs: 8000 });
    expect(r.status).toBe(1);
    expect(r.stdout.length).toBe(0);
    const line = r.stderr.match(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d tsocat\[\d+\] E (.*)\n$/);
    expect(line, r.stderr).not.toBeNull();
    if (message.startsWith('^')) expect(line?.[1]).toMatch(new RegExp(message));
    else expect(line?.[1]).toBe(message);
    expect(readFileSync(at('existing'), 'utf8')).toBe('keep me\n');
    expect(modeOf(at('existing'))).toBe('644');
    expect(readdirSync(dir)).toEqual(['existing']);
  });
});
