/**
 * Options on files and descriptors, each shown by what it does to real files
 * and processes: the mode and owner a file gets, where it is created, when its
 * name disappears, who else can lock it, what a child program inherits, and the
 * open(2) flags the kernel reports for the descriptor (/proc/<pid>/fdinfo).
 */
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fdOf, holds, locksOn, openFlagsIn, stopWhenDone } from '../fd-inspect.js';
import { backgroundStarter, freePort, requireOrSkip, requires, skipBecause, stop, TSOCAT, tcpExchange, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';


let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

const start = backgroundStarter();
const at = (name: string) => join(dir, name);
const modeOf = (path: string) => (statSync(path).mode & 0o7777).toString(8);

/** tsocat with an extra descriptor 5 inherited from the test (an FD address's material). */
function tsocatWithFd5(args: string[], fd: number, cwd?: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TSOCAT, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe', 'ignore', 'ignore', fd] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

describe('perm, umask, chdir, user, group', () => {
  it('OPEN:new,creat,perm=0640 creates the file with that mode', async () => {
    const r = await tsocat(['-u', '-', `OPEN:${at('new')},creat,perm=0640`], { input: 'x' });
    expect(r.status).toBe(0);
    expect(modeOf(at('new'))).toBe('640');
  });

  it('perm is the creation mode: umask still applies to it, and an existing file keeps its mode (as socat)', async () => {
    const r = await tsocat(['-u', '-', `OPEN:${at('new')},creat,perm=0666,umask=0027`], { input: 'x' });
    expect(r.status).toBe(0);
    expect(modeOf(at('new'))).toBe('640');
    writeFileSync(at('old'), 'a', { mode: 0o644 });
    expect((await tsocat(['-u', '-', `OPEN:${at('old')},perm=0600`], { input: 'x' })).status).toBe(0);
    expect(modeOf(at('old'))).toBe('644');
  });

  it('CREATE:f,umask=0077 creates a file only its owner can read', async () => {
    const r = await tsocat(['-u', '-', `CREATE:${at('secret')},umask=0077`], { input: 'x' });
    expect(r.status).toBe(0);
    expect(modeOf(at('secret'))).toBe('600');
  });

  it('FD:5,perm=0600 changes the mode of the file behind the descriptor (fchmod)', async () => {
    writeFileSync(at('f'), 'data', { mode: 0o644 });
    const fd = openSync(at('f'), 'r');
    try {
      const r = await tsocatWithFd5(['-u', 'FD:5,perm=0600', 'OPEN:/dev/null'], fd);
      expect(r.status, r.stderr).toBe(0);
    } finally {
      closeSync(fd);
    }
    expect(modeOf(at('f'))).toBe('600');
  });

  it('chdir=DIR: a relative path of that address is found in DIR, and the next address is back in the old directory', async () => {
    mkdirSync(at('sub'));
    mkdirSync(at('cwd'));
    writeFileSync(at('sub/in'), 'from sub\n');
    const r = await tsocat(['-u', `OPEN:in,chdir=${at('sub')}`, 'OPEN:out,creat'], { cwd: at('cwd') });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(at('cwd/out'), 'utf8')).toBe('from sub\n');
  });

  it('chdir applies to a program the address starts (its working directory)', async () => {
    mkdirSync(at('sub'));
    const r = await tsocat(['-u', `SYSTEM:pwd,chdir=${at('sub')}`, '-']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.toString().trim()).toBe(at('sub'));
  });

  it('OPEN:f,creat,user=12345,group=23456 gives the file that owner and group (root only: chown needs root)', async (ctx) => {
    requireOrSkip(ctx, 'root');
    const r = await tsocat(['-u', '-', `OPEN:${at('owned')},creat,user=12345,group=23456`], { input: 'x' });
    expect(r.status, r.stderr).toBe(0);
    const st = statSync(at('owned'));
    expect([st.uid, st.gid]).toEqual([12345, 23456]);
  });

  it('user and group by name: nobody, nogroup (root only: chown needs root)', async (ctx) => {
    requireOrSkip(ctx, 'root', 'nobody');
    const r = await tsocat(['-u', '-', `CREATE:${at('owned')},user=nobody,group=nogroup`], { input: 'x' });
    expect(r.status, r.stderr).toBe(0);
    const st = statSync(at('owned'));
    expect(st.uid).toBe(65534);
    expect(st.gid).toBe(65534);
  });
});

describe('unlink-early, unlink, unlink-late, unlink-close', () => {
  for (const option of ['unlink-early', 'unlink']) {
    it(`${option} removes the entry before opening: a hard link keeps the old content, the name gets a new file`, async () => {
      writeFileSync(at('f'), 'old content\n');
      linkSync(at('f'), at('link'));
      const r = await tsocat(['-u', '-', `OPEN:${at('f')},creat,${option}`], { input: 'new\n' });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(at('f'), 'utf8')).toBe('new\n');
      expect(readFileSync(at('link'), 'utf8')).toBe('old content\n');
    });
  }

  it('OPEN:f,unlink without creat: the entry is gone before the open, which then fails', async () => {
    writeFileSync(at('f'), 'x');
    const r = await tsocat(['-u', `OPEN:${at('f')},unlink`, '-']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('No such file or directory');
  });

  it('unlink-late removes the entry right after the open; the relay goes on with the open file', async () => {
    writeFileSync(at('f'), '');
    const p = start(['-u', '-', `OPEN:${at('f')},unlink-late`]);
    await waitFor(() => !existsSync(at('f')));
    expect(p.exitCode).toBeNull();
    p.stdin?.end('still written\n');
    expect(await stopWhenDone(p)).toBe(0);
  });

  it('unlink-close keeps the entry during the relay and removes it when the address closes', async () => {
    const p = start(['-u', '-', `OPEN:${at('f')},creat,unlink-close`]);
    p.stdin?.write('data\n');
    await waitFor(() => existsSync(at('f')) && statSync(at('f')).size === 5);
    p.stdin?.end();
    expect(await stopWhenDone(p)).toBe(0);
    expect(existsSync(at('f'))).toBe(false);
  });
});

describe('locks: a second process finds the file locked during the relay', () => {
  it('flock-ex: flock(1) -n fails while tsocat relays, succeeds after', async (ctx) => {
    requireOrSkip(ctx, 'flock');
    writeFileSync(at('f'), '');
    const p = start(['-u', '-', `OPEN:${at('f')},flock-ex`]);
    await waitFor(() => holds(at('f'), 'FLOCK', p.pid as number));
    expect(spawnSync('flock', ['-n', at('f'), 'true']).status).toBe(1);
    p.stdin?.end();
    expect(await stopWhenDone(p)).toBe(0);
    expect(spawnSync('flock', ['-n', at('f'), 'true']).status).toBe(0);
  });

  it('flock-ex-nb: tsocat fails at once when flock(1) holds the file', async (ctx) => {
    requireOrSkip(ctx, 'flock');
    writeFileSync(at('f'), '');
    const holder = spawn('flock', [at('f'), 'sleep', '30'], { stdio: 'ignore' });
    try {
      await waitFor(() => locksOn(at('f')).some((l) => l.includes('FLOCK')));
      const r = await tsocat(['-u', '-', `OPEN:${at('f')},flock-ex-nb`], { input: 'x' });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/flock\(\d+, LOCK_EX\|LOCK_NB\): Resource temporarily unavailable/);
    } finally {
      await stop(holder);
    }
  });

  it('setlk: a second tsocat with setlk fails while the first relays', async () => {
    writeFileSync(at('f'), '');
    const p = start(['-u', '-', `OPEN:${at('f')},setlk`]);
    await waitFor(() => holds(at('f'), 'FCNTL', p.pid as number));
    const second = await tsocat(['-u', '-', `OPEN:${at('f')},setlk`], { input: 'x' });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/F_SETLK\b.*: Resource temporarily unavailable/);
    p.stdin?.end();
    expect(await stopWhenDone(p)).toBe(0);
  });

  it("setlk in a fork relay: a running session's lock keeps the next session out, as socat's children", async () => {
    writeFileSync(at('f'), '');
    const port = await freePort();
    // -u: the file is only written, so a session lasts as long as its client
    const relay = start(['-d', '-d', '-u', `TCP-LISTEN:${port},reuseaddr,fork`, `OPEN:${at('f')},setlk`]);
    await waitForPort(port);
    const running = connect({ port, host: '127.0.0.1' });
    try {
      await waitFor(() => holds(at('f'), 'FCNTL', relay.pid as number, 'WRITE'), 5000, "the first session's lock");
      // one process: only a lock of the open file description (not the process's) refuses the second session
      expect((await tcpExchange(port, 'second\n', { timeoutMs: 8000 })).toString()).toBe('');
      await waitFor(() => / E fcntl\(\d+, F_SETLK, \{type=F_WRLCK,[^}]*\}\): Resource temporarily unavailable\n/.test(relay.errors()), 5000, 'the refusal');
      expect(readFileSync(at('f'), 'utf8')).toBe('');
      // the running session still has its lock after the refused one closed its descriptor of the file
      expect(holds(at('f'), 'FCNTL', relay.pid as number, 'WRITE')).toBe(true);
    } finally {
      running.destroy();
    }
  });

  for (const option of ['setlkw', 'lock']) {
    it(`${option}: a second tsocat waits for the lock and relays once the first is done`, async () => {
      writeFileSync(at('f'), '');
      const first = start(['-u', '-', `OPEN:${at('f')},${option}`]);
      await waitFor(() => holds(at('f'), 'FCNTL', first.pid as number));
      // the wait is tsocat's own (LOCK_NB/F_SETLK tried again), so it shows in its log, not in /proc/locks
      const second = start(['-d', '-d', '-d', '-u', '-', `OPEN:${at('f')},o-append,${option}`]);
      await waitFor(() => second.errors().includes('waiting for lock on fd'));
      first.stdin?.end('first\n');
      expect(await stopWhenDone(first)).toBe(0);
      await waitFor(() => holds(at('f'), 'FCNTL', second.pid as number));
      second.stdin?.end('second\n');
      expect(await stopWhenDone(second)).toBe(0);
      expect(readFileSync(at('f'), 'utf8')).toBe('first\nsecond\n');
    });
  }
});

describe('cloexec: what a program started by the other address inherits', () => {
  const listing = 'SYSTEM:ls -l /proc/self/fd >listing; cat >/dev/null';

  it('OPEN:f,cloexec=0 passes the descriptor on to the program; by default it does not', async () => {
    writeFileSync(at('f'), 'data');
    expect((await tsocat(['-u', `OPEN:${at('f')},cloexec=0`, listing], { cwd: dir })).status).toBe(0);
    expect(readFileSync(at('listing'), 'utf8')).toContain(`-> ${at('f')}`);
    expect((await tsocat(['-u', `OPEN:${at('f')}`, listing], { cwd: dir })).status).toBe(0);
    expect(readFileSync(at('listing'), 'utf8')).not.toContain(`-> ${at('f')}`);
  });

  it('FD:5 is not passed on to the program (as socat), FD:5,cloexec=0 is', async () => {
    writeFileSync(at('f'), 'data');
    const fd = openSync(at('f'), 'r');
    try {
      expect((await tsocatWithFd5(['-u', 'FD:5', listing], fd, dir)).status).toBe(0);
      expect(readFileSync(at('listing'), 'utf8')).not.toContain(`-> ${at('f')}`);
      expect((await tsocatWithFd5(['-u', 'FD:5,cloexec=0', listing], fd, dir)).status).toBe(0);
      expect(readFileSync(at('listing'), 'utf8')).toContain(`-> ${at('f')}`);
    } finally {
      closeSync(fd);
    }
  });
});

describe('seek and ftruncate', () => {
  it('OPEN:f,seek=4 starts reading at byte 4', async () => {
    writeFileSync(at('f'), '0123456789');
    const r = await tsocat(['-u', `OPEN:${at('f')},seek=4`, '-']);
    expect(r.stdout.toString()).toBe('456789');
  });

  it('OPEN:f,seek=4 starts writing at byte 4', async () => {
    writeFileSync(at('f'), '0123456789');
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},seek=4`], { input: 'ab' })).status).toBe(0);
    expect(readFileSync(at('f'), 'utf8')).toBe('0123ab6789');
  });

  it('OPEN:f,ftruncate=3 cuts the file to 3 bytes before the relay writes', async () => {
    writeFileSync(at('f'), '0123456789');
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},ftruncate=3`], { input: 'ab' })).status).toBe(0);
    expect(readFileSync(at('f'), 'utf8')).toBe('ab2');
  });

  it('ftruncate on a descriptor opened for reading fails as in socat (EINVAL)', async () => {
    writeFileSync(at('f'), '0123456789');
    const r = await tsocat(['-u', `OPEN:${at('f')},ftruncate=3`, '-']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ftruncate64\(\d+, 3\): Invalid argument/);
  });

  it('seek moves the descriptor\'s own offset: a program handed the file by EXEC,nofork starts there too', async () => {
    writeFileSync(at('f'), '0123456789');
    const r = await tsocat([`OPEN:${at('f')},rdonly,seek=7`, 'SYSTEM:cat >out,nofork'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(at('out'), 'utf8')).toBe('789');
  });
});

describe('open(2) flags', () => {
  it('creat creates a missing file; without it the open fails', async () => {
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},creat`], { input: 'x' })).status).toBe(0);
    expect(readFileSync(at('f'), 'utf8')).toBe('x');
    const r = await tsocat(['-u', '-', `OPEN:${at('g')}`], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('No such file or directory');
  });

  it('creat,excl refuses a file that exists', async () => {
    writeFileSync(at('f'), 'keep');
    const r = await tsocat(['-u', '-', `OPEN:${at('f')},creat,excl`], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('File exists');
    expect(readFileSync(at('f'), 'utf8')).toBe('keep');
  });

  it('trunc empties the file before writing', async () => {
    writeFileSync(at('f'), '0123456789');
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},trunc`], { input: 'ab' })).status).toBe(0);
    expect(readFileSync(at('f'), 'utf8')).toBe('ab');
  });

  it('append writes at the end of the file', async () => {
    writeFileSync(at('f'), '0123456789');
    expect((await tsocat(['-u', '-', `OPEN:${at('f')},append`], { input: 'ab' })).status).toBe(0);
    expect(readFileSync(at('f'), 'utf8')).toBe('0123456789ab');
  });

  it('GOPEN appends to a file that exists (as socat), unless append=0', async () => {
    writeFileSync(at('f'), '0123456789');
    expect((await tsocat(['-u', '-', `GOPEN:${at('f')}`], { input: 'ab' })).status).toBe(0);
    expect(readFileSync(at('f'), 'utf8')).toBe('0123456789ab');
    expect((await tsocat(['-u', '-', `GOPEN:${at('f')},append=0`], { input: 'AB' })).status).toBe(0);
    expect(readFileSync(at('f'), 'utf8')).toBe('AB23456789ab');
  });

  it('rdonly: writing to the file then fails (EBADF), as in socat', async () => {
    writeFileSync(at('f'), '');
    const r = await tsocat(['-u', '-', `OPEN:${at('f')},rdonly`], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Bad file descriptor');
  });

  it('wronly: reading from the file then fails (EBADF)', async () => {
    writeFileSync(at('f'), 'data');
    const r = await tsocat(['-u', `OPEN:${at('f')},wronly`, '-']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Bad file descriptor');
  });

  it('nofollow refuses a symbolic link', async () => {
    writeFileSync(at('target'), 'data');
    symlinkSync(at('target'), at('link'));
    const r = await tsocat(['-u', `OPEN:${at('link')},nofollow`, '-']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Too many levels of symbolic links');
  });

  it('directory refuses anything that is not a directory', async () => {
    writeFileSync(at('f'), 'data');
    const r = await tsocat(['-u', `OPEN:${at('f')},directory`, '-']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Not a directory');
  });

  // flags the kernel keeps on the open file, read from /proc/<pid>/fdinfo while tsocat relays
  const O_RDWR = 0o2;
  const kept: Array<[option: string, bit: number]> = [
    ['rdwr', O_RDWR],
    ['nonblock', 0o4000],
    ['sync', 0o4010000],
    ['noatime', 0o1000000],
    ['direct', 0o40000],
  ];
  for (const [option, bit] of kept) {
    it(`OPEN:f,${option} opens with that flag (fdinfo)`, async () => {
      writeFileSync(at('f'), '');
      const p = start(['-u', '-', `OPEN:${at('f')},${option}`]);
      expect((await openFlagsIn(p, at('f'))) & bit).toBe(bit);
    });
  }
});

/** A fresh pseudo-terminal nobody has as controlling terminal: its master descriptor and the slave's path. */
async function freshPty(): Promise<{ master: number; slave: string }> {
  const { createRequire } = await import('node:module');
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const libc = koffi.load('libc.so.6');
  const O_RDWR_NOCTTY = 0o2 | 0o400;
  const master = libc.func('int posix_openpt(int)')(O_RDWR_NOCTTY) as number;
  if (master < 0 || libc.func('int grantpt(int)')(master) < 0 || libc.func('int unlockpt(int)')(master) < 0) throw new Error('no pseudo-terminal');
  return { master, slave: libc.func('const char *ptsname(int)')(master) as string };
}

/** Field 7 of /proc/<pid>/stat: the controlling terminal's device number, 0 when there is none. */
function controllingTty(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[4]);
}

describe('o-noctty', () => {
  it('a session leader opening a terminal with noctty does not make it its controlling terminal', async () => {
    const { master, slave } = await freshPty();
    try {
      // STDIO,setsid makes tsocat a session leader without a terminal before the second address opens;
      // -U opens that one for reading, as the kernel hands a terminal over only to a reader
      const p = start(['-U', 'STDIO,setsid', `OPEN:${slave},noctty`]);
      await waitFor(() => fdOf(p.pid as number, slave) !== undefined);
      expect(controllingTty(p.pid as number)).toBe(0);
    } finally {
      closeSync(master);
    }
  });

  it('without noctty the same open makes the terminal the controlling one (the kernel\'s default)', async () => {
    const { master, slave } = await freshPty();
    try {
      const p = start(['-U', 'STDIO,setsid', `OPEN:${slave}`]);
      await waitFor(() => fdOf(p.pid as number, slave) !== undefined);
      expect(controllingTty(p.pid as number)).not.toBe(0);
    } finally {
      closeSync(master);
    }
  });
});

describe('inode flags (chattr) on an ext2/3/4-like file system', () => {
  requires('lsattr');
  /** `lsattr` letters of a path, or undefined when the file system has none. */
  function attrs(path: string, isDir = false): string | undefined {
    const r = spawnSync('lsattr', isDir ? ['-d', path] : [path], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.split(/\s+/)[0] : undefined;
  }
  const letters: Array<[option: string, letter: string]> = [
    ['fs-secrm', 's'],
    ['fs-unrm', 'u'],
    ['fs-compr', 'c'],
    ['fs-sync', 'S'],
    ['fs-immutable', 'i'],
    ['fs-append', 'a'],
    ['fs-nodump', 'd'],
    ['fs-noatime', 'A'],
    ['fs-notail', 't'],
  ];
  for (const [option, letter] of letters) {
    it(`OPEN:f,${option} sets lsattr's "${letter}"; ${option}=0 clears it`, async (ctx) => {
      writeFileSync(at('f'), 'data');
      if (attrs(at('f')) === undefined) skipBecause(ctx, 'the file system here keeps no inode flags (lsattr fails)');
      try {
        const r = await tsocat(['-u', `OPEN:${at('f')},rdonly,${option}`, '-']);
        expect(r.status, r.stderr).toBe(0);
        expect(attrs(at('f'))).toContain(letter);
        expect((await tsocat(['-u', `OPEN:${at('f')},rdonly,${option}=0`, '-'])).status).toBe(0);
        expect(attrs(at('f'))).not.toContain(letter);
      } finally {
        spawnSync('chattr', [`-${letter}`, at('f')]);
      }
    });
  }

  for (const [option, letter] of [['fs-dirsync', 'D'], ['fs-topdir', 'T']] as const) {
    it(`${option} is a directory flag: OPEN:dir,rdonly,${option} sets "${letter}" (reading the directory then fails)`, async (ctx) => {
      mkdirSync(at('d'));
      if (attrs(at('d'), true) === undefined) skipBecause(ctx, 'the file system here keeps no inode flags (lsattr fails)');
      const r = await tsocat(['-u', `OPEN:${at('d')},rdonly,${option}`, '-']);
      expect(r.stderr).toContain('Is a directory');
      expect(attrs(at('d'), true)).toContain(letter);
    });
  }

  it('fs-journal-data asks the kernel (which wants CAP_SYS_RESOURCE for it)', async (ctx) => {
    writeFileSync(at('f'), 'data');
    if (attrs(at('f')) === undefined) skipBecause(ctx, 'the file system here keeps no inode flags (lsattr fails)');
    const r = await tsocat(['-u', `OPEN:${at('f')},rdonly,fs-journal-data`, '-']);
    if (r.status === 0) expect(attrs(at('f'))).toContain('j');
    else expect(r.stderr).toMatch(/FS_IOC_SETFLAGS.*: Operation not permitted/);
  });
});

describe('f-setpipe-sz', () => {
  it('OPEN:fifo,pipesz=262144 sets the kernel buffer of the pipe', async () => {
    spawnSync('mkfifo', [at('p')]);
    // the test holds both ends, so neither open blocks; the pipe's size is shared by all its descriptors
    const fd = openSync(at('p'), 'r+');
    try {
      const p = start(['-u', '-', `OPEN:${at('p')},wronly,pipesz=262144`]);
      const { getPipeSize } = await import('../../src/sys/libc.js');
      await waitFor(() => getPipeSize(fd) === 262144);
      p.stdin?.end();
      expect(await stopWhenDone(p)).toBe(0);
    } finally {
      closeSync(fd);
    }
  });
});
