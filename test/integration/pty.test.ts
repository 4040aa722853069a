/**
 * PTY: tsocat makes a pseudo-terminal (node-pty's openpty) and relays its
 * master side. The classic virtual null-modem, the link's lifetime, the
 * settings a program sees on the slave (compared with socat 1.7.4.4), and GOPEN
 * of a pty with TERMIOS options.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, exited, requireOrSkip, run, SOCAT, stop, TSOCAT, tempDir, tsocat } from '../helpers.js';
import { flagsOf, sttyOf, testPty, waitForPath } from '../pty-helpers.js';

// every tsocat a test starts is stopped by its pid after the test, also when an assertion failed first
const start = backgroundStarter();
const dirs: Array<() => void> = [];
afterEach(() => {
  for (const c of dirs.splice(0)) c();
});
function scratch(): string {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  return dir;
}

/** Writes all 256 byte values into link a and reads them at link b, then the other way (python: no part of tsocat). */
const NULL_MODEM_CHECK = `
import os, sys, time
a, b = (os.open(p, os.O_RDWR | os.O_NOCTTY) for p in sys.argv[1:3])
data = bytes(range(256))
def across(src, dst):
    os.write(src, data)
    got, t0 = b'', time.time()
    while len(got) < len(data) and time.time() - t0 < 5:
        got += os.read(dst, 4096)
    return got.hex()
print(across(a, b)); print(across(b, a))
`;

describe('PTY', () => {
  it('makes a virtual null-modem: all 256 byte values cross raw both ways, and both links are gone after SIGTERM', async () => {
    const dir = scratch();
    const [l0, l1] = [join(dir, 'ttyV0'), join(dir, 'ttyV1')];
    const relay = start(['-d', '-d', `PTY,link=${l0},raw,echo=0`, `PTY,link=${l1},raw,echo=0`]);
    await waitForPath(l0);
    await waitForPath(l1);
    expect(readlinkSync(l0)).toMatch(/^\/dev\/pts\/\d+$/);
    const r = await run('python3', ['-c', NULL_MODEM_CHECK, l0, l1]);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('hex');
    expect(r.stdout.toString().trim().split('\n')).toEqual([all, all]);
    expect(await stop(relay)).toBe(143);
    expect(existsSync(l0) || existsSync(l1)).toBe(false);
    // socat's notice at -d -d, one per pty
    expect(relay.errors().match(/N PTY is \/dev\/pts\/\d+/g)).toHaveLength(2);
  });

  it('a peer that opens and closes the slave again and again does not end the relay (tsocat holds the slave, as socat after openpty)', async () => {
    const dir = scratch();
    const link = join(dir, 'tty');
    const out = join(dir, 'out');
    const relay = start(['-u', `PTY,link=${link},raw,echo=0`, `OPEN:${out},creat`]);
    await waitForPath(link);
    for (const word of ['one', 'two']) spawnSync('sh', ['-c', `printf ${word} > ${link}`]);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (!existsSync(out) || statSync(out).size < 6)) await new Promise((r) => setTimeout(r, 20));
    expect(relay.exitCode).toBe(null);
    await stop(relay);
    expect(spawnSync('cat', [out], { encoding: 'utf8' }).stdout).toBe('onetwo');
  });

  it('wait-slave holds the relay until a program opens the slave, and ends when it closes it', async () => {
    const dir = scratch();
    const link = join(dir, 'tty');
    const relay = start(['-d', '-d', '-u', `PTY,link=${link},wait-slave,pty-interval=0.05,raw,echo=0`, 'STDOUT']);
    await waitForPath(link);
    await new Promise((r) => setTimeout(r, 300));
    // nothing opened the slave yet: no transfer
    expect(relay.errors()).not.toMatch(/starting data transfer/);
    // the program holds the slave longer than one pty-interval, so the check sees it open (as with socat)
    spawnSync('sh', ['-c', `exec 3>${link}; sleep 0.3; printf waited >&3`]);
    const code = await exited(relay);
    expect(relay.output()).toBe('waited');
    expect(code).toBe(0);
    expect(relay.errors()).toMatch(/probably PTY closed/);
    expect(existsSync(link)).toBe(false);
  });

  it('unlink-close=0 leaves the link; perm sets the mode of /dev/pts/N; winsz is the size stty reads', async () => {
    const dir = scratch();
    const link = join(dir, 'tty');
    const relay = start(['-u', `PTY,link=${link},unlink-close=0,perm=0600,winsz=132:43`, 'OPEN:/dev/null']);
    await waitForPath(link);
    const pts = readlinkSync(link);
    expect(statSync(pts).mode & 0o777).toBe(0o600);
    expect(sttyOf(link)).toMatch(/rows 43; columns 132;/);
    await stop(relay);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it('ptmx and openpty are taken (both make the pty through node-pty)', async () => {
    const dir = scratch();
    for (const how of ['ptmx', 'openpty']) {
      const link = join(dir, how);
      const relay = start(['-u', `PTY,${how},link=${link}`, 'OPEN:/dev/null']);
      await waitForPath(link);
      expect(readlinkSync(link)).toMatch(/^\/dev\/pts\//);
      await stop(relay);
    }
  });
});

/** `stty -a` of the slave of `tool … PTY,link=L,<opts>` while it runs. */
async function ptySettings(tool: string[], options: string, dir: string): Promise<string> {
  const link = join(dir, `l${Math.random().toString(36).slice(2)}`);
  const { spawn } = await import('node:child_process');
  const child = spawn(tool[0] as string, [...tool.slice(1), '-u', `PTY,link=${link}${options ? `,${options}` : ''}`, 'OPEN:/dev/null'], { stdio: 'ignore' });
  try {
    await waitForPath(link);
    return sttyOf(link);
  } finally {
    await stop(child);
  }
}

/** `stty -a` of a pty the test holds while `tool -u GOPEN:<pty>,<opts> …` has it open. */
async function gopenSettings(tool: string[], options: string): Promise<string> {
  const pty = testPty();
  const { spawn } = await import('node:child_process');
  const before = sttyOf(pty.path);
  const child = spawn(tool[0] as string, [...tool.slice(1), '-d', '-d', '-u', `GOPEN:${pty.path},${options}`, 'OPEN:/dev/null'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !/starting data transfer/.test(err)) await new Promise((r) => setTimeout(r, 20));
    const during = sttyOf(pty.path);
    expect(during === before && options !== '').toBe(false);
    return during;
  } finally {
    await stop(child);
    closeSync(pty.slave);
    closeSync(pty.master);
  }
}

describe('PTY and GOPEN of a pty against socat 1.7.4.4', () => {
  const ptyCases = ['', 'raw', 'raw,echo=0', 'echo=0,icanon=0', 'b9600', 'b115200,cstopb', 'crtscts,parodd', 'onlcr=0,opost=0', 'vmin=5,vtime=3', 'raw,sane', 'isig=0,iexten=0', 'intr=1,erase=8'];
  for (const options of ptyCases) {
    it(`PTY${options ? `,${options}` : ''}: the slave's settings are socat's`, async (ctx) => {
      requireOrSkip(ctx, 'socat');
      const dir = scratch();
      const ours = await ptySettings([process.execPath, TSOCAT], options, dir);
      const theirs = await ptySettings([SOCAT as string], options, dir);
      expect(ours).toBe(theirs);
    });
  }
  const gopenCases = ['raw,echo=0', 'b57600,cstopb', 'b300,parodd,crtscts', 'icanon=0,vmin=3,vtime=1', 'rawer'];
  for (const options of gopenCases) {
    it(`GOPEN:<pty>,${options}: the settings during the relay are socat's`, async (ctx) => {
      requireOrSkip(ctx, 'socat');
      // rawer: socat's clears the speed to B0 (see termios.test.ts); the flags must still agree
      const strip = (s: string) => (options === 'rawer' ? s.replace(/speed \d+ baud; /, '') : s);
      expect(strip(await gopenSettings([process.execPath, TSOCAT], options))).toBe(strip(await gopenSettings([SOCAT as string], options)));
    });
  }
});

describe('PTY: bad input', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['link= into a missing directory', ['PTY,link=/nonexistent-dir/tty', '-'], /E symlink\("\/dev\/pts\/\d+", "\/nonexistent-dir\/tty"\): No such file or directory/],
    ['a parameter PTY does not take', ['PTY:x', '-'], /E .*PTY/],
    ['winsz without rows', ['PTY,winsz=80', '-'], /E .*winsz/],
    ['winsz beyond 65535', ['PTY,winsz=70000:24', '-'], /E tiocswinsz: 70000 is outside range 0\.\.65535/],
    ['pty-interval that is not a number', ['PTY,wait-slave,pty-interval=soon', '-'], /E .*pty-interval/],
    ['parenb on a pty (the kernel refuses parity)', ['PTY,parenb', '-'], /E tcsetattr|E .*parenb|Invalid argument/],
    ['an unknown option', ['PTY,flux=1', '-'], /E parseopts_table\(\): unknown option "flux"/],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: one E line, status 1, no link left`, async () => {
      const dir = scratch();
      const r = await tsocat(args.map((a) => a.replace('/tmp-link', join(dir, 'l'))), { input: '' });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }

  it('a failing option after the link removes the link again', async () => {
    const dir = scratch();
    const link = join(dir, 'tty');
    const r = await tsocat([`PTY,link=${link},user=no-such-user-here`, '-'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E getpwnam\("no-such-user-here"\)/);
    expect(existsSync(link)).toBe(false);
  });
});

describe('start-up: tsocat - - does not load node-pty or serialport', () => {
  it('no pty.node or serialport module in a plain relay', async () => {
    // NODE_DEBUG=module names every module Node loads through require
    const r = await tsocat(['-', '-'], { input: 'x', env: { ...process.env, NODE_DEBUG: 'module' } });
    expect(r.stdout.toString()).toBe('x');
    expect(r.stderr).not.toMatch(/pty\.node|serialport/);
  });

  it('flags of the termios flags on a PTY read as stty names them', () => {
    expect(flagsOf('-echo icanon')).toContain('-echo');
  });
});
