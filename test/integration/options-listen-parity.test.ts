/**
 * socat 1.8's LISTEN, RANGE, RETRY and APPL option groups in tsocat: every
 * name and alias is known; the ones added for parity (lockfile, waitlock, the
 * aliases ignoreof and intervall) do what socat's man page says, and the TCP
 * wrapper options, which need libwrap, are refused with the reason.
 */
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, exited, freePort, requireOrSkip, run, SOCAT, socat18OrSkip, stop, tcpExchange, tempDir, tsocat, TSOCAT, waitFor, waitForPort } from '../helpers.js';

const background = backgroundStarter();

const tracked: ChildProcess[] = [];
afterEach(async () => {
  for (const p of tracked.splice(0)) await stop(p);
});

/** Starts tsocat (node + script) or socat in the background, stopped by pid after the test. */
function spawnTracked(program: string, args: string[]) {
  const child = spawn(program, program === process.execPath ? [TSOCAT, ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'] });
  tracked.push(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return Object.assign(child, { errors: () => err });
}

/** socat 1.8.1.1's option names (and aliases) of these groups, from its option table: names only. */
const SOCAT_NAMES: Record<string, string[]> = {
  LISTEN: ['backlog', 'accept-timeout', 'listen-timeout'],
  RANGE: ['range', 'tcpwrappers', 'tcpwrap', 'tcpwrapper', 'libwrap', 'wrap', 'tcpwrap-etc', 'tcpwrap-dir', 'tcpwrap-hosts-allow-table', 'allow-table', 'hosts-allow', 'tcpwrap-hosts-deny-table', 'deny-table', 'hosts-deny'],
  RETRY: ['retry', 'forever', 'interval', 'intervall'],
  CHILD: ['fork', 'max-children', 'children-shutup', 'child-shutup'],
  APPL: ['ignoreeof', 'ignoreof', 'cr', 'crnl', 'crlf', 'readbytes', 'bytes', 'lockfile', 'waitlock', 'escape'],
};

/** The errors lines of a run. */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => / E /.test(l));

describe('-hhh knows every name of the LISTEN, RANGE, RETRY, CHILD and APPL groups', () => {
  it.each(Object.entries(SOCAT_NAMES))('%s', async (_group, names) => {
    const help = (await tsocat(['-hhh'])).stdout.toString();
    const known = new Set([...help.matchAll(/^\s+([a-z][\w-]*)\s+(?:groups=|is an alias for )/gm)].map((m) => m[1]));
    expect(names.filter((n) => !known.has(n))).toEqual([]);
  });
});

describe('lockfile and waitlock', () => {
  it('lockfile: the lock file exists while the address is open, holds the pid, and is gone afterwards (as socat 1.7.4.4)', async (ctx) => {
    const { dir, cleanup } = tempDir();
    try {
      const lock = join(dir, 'lock');
      const r = await tsocat(['-U', `STDOUT,lockfile=${lock}`, `SYSTEM:cat ${lock}`]);
      expect(r.status).toBe(0);
      expect(r.stdout.toString()).toMatch(/^\d+\n$/);
      expect(existsSync(lock)).toBe(false);
      requireOrSkip(ctx, 'socat');
      const theirs = await run(SOCAT as string, ['-U', `STDOUT,lockfile=${lock}`, `SYSTEM:cat ${lock}`]);
      // 1.7.4.4 writes the pid without the newline that 1.8 adds (tsocat follows 1.8)
      expect(theirs.stdout.toString()).toMatch(/^\d+\n?$/);
      expect(existsSync(lock)).toBe(false);
    } finally {
      cleanup();
    }
  });

  it('lockfile: an existing lock file stops tsocat before the address opens, as socat 1.7.4.4', async (ctx) => {
    const { dir, cleanup } = tempDir();
    try {
      const lock = join(dir, 'lock');
      const out = join(dir, 'out');
      writeFileSync(lock, 'someone\n');
      const r = await tsocat(['-u', '-', `CREATE:${out},lockfile=${lock}`], { input: 'data\n' });
      expect(r.status).toBe(1);
      expect(errorLines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toContain(`E could not obtain lock "${lock}"`);
      expect(existsSync(out)).toBe(false);
      // someone else's lock is left alone
      expect(readFileSync(lock, 'utf8')).toBe('someone\n');
      requireOrSkip(ctx, 'socat');
      const theirs = await run(SOCAT as string, ['-u', '-', `CREATE:${out},lockfile=${lock}`], { input: 'data\n' });
      expect(theirs.status).toBe(1);
      expect(theirs.stderr).toContain(`E could not obtain lock "${lock}"`);
      expect(existsSync(out)).toBe(false);
    } finally {
      cleanup();
    }
  });

  it('waitlock: waits while the lock file exists, then takes it and transfers', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const lock = join(dir, 'lock');
      writeFileSync(lock, 'held\n');
      const p = background(['-d', '-d', '-U', `STDOUT,waitlock=${lock}`, 'SYSTEM:echo through']);
      await waitFor(() => p.errors().includes(`N waiting for lock "${lock}"`));
      expect(p.output()).toBe('');
      rmSync(lock);
      expect(await exited(p, 5000)).toBe(0);
      expect(p.output()).toBe('through\n');
      expect(existsSync(lock)).toBe(false);
    } finally {
      cleanup();
    }
  });

  it('lockfile on the address a forking listener opens per peer: a second peer while the first session goes on is turned away (after the bounded wait for it)', async () => {
    const { dir, cleanup } = tempDir();
    // the first client stays connected and its program runs on: that session is not ending, so the lock stays taken
    let firstClient: Socket | undefined;
    try {
      const lock = join(dir, 'lock');
      const port = await freePort();
      const p = background(['-d', '-d', '-d', `TCP-LISTEN:${port},fork,reuseaddr`, `SYSTEM:cat ${lock}; sleep 20,lockfile=${lock}`]);
      await waitForPort(port);
      firstClient = connect({ port, host: '127.0.0.1' }).on('error', () => {});
      await waitFor(() => existsSync(lock));
      const second = await tcpExchange(port, '', { timeoutMs: 12000 });
      expect(second.toString()).toBe('');
      expect(p.errors()).toContain('waiting for an ending session of this relay to release it');
      await waitFor(() => p.errors().includes(`could not obtain lock "${lock}"`));
    } finally {
      firstClient?.destroy();
      cleanup();
    }
  }, 30000);

  it.each([
    ['lockfile without a value', ['-u', '-', 'STDOUT,lockfile'], 'value required'],
    ['waitlock without a value', ['-u', '-', 'STDOUT,waitlock'], 'value required'],
    ['lockfile in a directory that does not exist', ['-u', '-', 'STDOUT,lockfile=/nonexistent-dir/lock'], /No such file or directory/],
    ['lockfile and waitlock together', ['-u', '-', 'STDOUT,lockfile=/tmp/a,waitlock=/tmp/b'], 'E only one use of options lockfile and waitlock allowed'],
    ['intervall that is not a number', ['-u', '-', 'TCP:127.0.0.1:1,retry=1,intervall=soon'], 'missing numerical value of option "intervall=soon"'],
    ['ignoreof with a value that is not a boolean', ['-u', 'STDIN,ignoreof=maybe', 'STDOUT'], 'missing numerical value of option "ignoreof=maybe"'],
  ])('bad input: %s → one E line, status 1', async (_name, args, message) => {
    const r = await tsocat(args as string[], { input: '' });
    expect(r.status).toBe(1);
    const errors = errorLines(r.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });
});

describe('children-shutup (CHILD): a forking listener\'s sessions log lower', () => {
  /** The log of a forking listener whose second address fails for one peer. */
  const failingSessionLog = async (program: string, option: string) => {
    const port = await freePort();
    const p = spawnTracked(program, ['-d', '-d', `TCP-LISTEN:${port},bind=127.0.0.1,fork,${option}`, 'OPEN:/nonexistent-dir/x']);
    await waitForPort(port);
    await tcpExchange(port, 'x');
    await waitFor(() => /open\("\/nonexistent-dir\/x"/.test(p.errors()));
    return p.errors();
  };

  it('children-shutup: a session\'s error is a warning; the accept loop\'s notices stay notices (as socat 1.8.1.1)', async (ctx) => {
    const log = await failingSessionLog(process.execPath, 'children-shutup');
    expect(log).toMatch(/ W open\("\/nonexistent-dir\/x", 02, 0666\): No such file or directory/);
    expect(log).not.toMatch(/ E /);
    expect(log).toMatch(/ N accepting connection from/);
    const socat18 = socat18OrSkip(ctx, "Debian's 1.7.4.4 has no children-shutup");
    const theirs = await failingSessionLog(socat18, 'children-shutup');
    expect(theirs).toMatch(/ W open\("\/nonexistent-dir\/x", 02, 0666\): No such file or directory/);
  });

  it('child-shutup=2: the session\'s error becomes a notice', async () => {
    const log = await failingSessionLog(process.execPath, 'child-shutup=2');
    expect(log).toMatch(/ N open\("\/nonexistent-dir\/x", 02, 0666\): No such file or directory/);
  });

  it('bad input: children-shutup=loud → one E line, status 1', async () => {
    const r = await tsocat([`TCP-LISTEN:${await freePort()},fork,children-shutup=loud`, 'PIPE']);
    expect(r.status).toBe(1);
    expect(errorLines(r.stderr)).toEqual([expect.stringContaining('missing numerical value of option "children-shutup=loud"')]);
  });
});

describe('aliases do what their option does', () => {
  it('ignoreof (socat\'s misspelt alias) keeps reading past end of file, like ignoreeof', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'grows');
      writeFileSync(file, 'one\n');
      const p = background(['-u', `OPEN:${file},ignoreof`, 'STDOUT']);
      await waitFor(() => p.output() === 'one\n');
      appendFileSync(file, 'two\n');
      await waitFor(() => p.output() === 'one\ntwo\n');
    } finally {
      cleanup();
    }
  });

  it('intervall (socat\'s old spelling) sets the time between retries', async () => {
    const port = await freePort();
    const r = await tsocat(['-d', '-d', '-u', '-', `TCP:127.0.0.1:${port},retry=1,intervall=0.3`], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('N retrying in 0.3 second(s)');
  });
});

describe('TCP wrapper options: refused with the reason (tsocat has no libwrap)', () => {
  it.each(SOCAT_NAMES.RANGE.filter((n) => n !== 'range'))('%s', async (name) => {
    const port = await freePort();
    const value = /table|allow|deny|etc|dir/.test(name) ? '=/etc/hosts.allow' : '';
    const r = await tsocat([`TCP-LISTEN:${port},${name}${value}`, 'PIPE']);
    expect(r.status).toBe(1);
    const errors = errorLines(r.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`E option "${name}": not available: tsocat has no libwrap (TCP wrappers); use the range option`);
  });
});
