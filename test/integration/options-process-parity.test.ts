/**
 * The PROCESS, EXEC, FORK and CHILD options of socat 1.8 that issue #10 adds:
 * PROCESS options go with every address (socat's GROUP_ANY), dash/login,
 * children-shutup, the maxchildren alias, and a bad value for each one that
 * takes a value (one E line, status 1, as socat).
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { freePort, requireOrSkip, run, SOCAT, socat18OrSkip, stop, tcpExchange, tsocat, waitFor, waitForPort } from '../helpers.js';

const LINE = /^\S+ \S+ tsocat\[\d+\] E (.*)\n$/;

describe('PROCESS options go with every address, as in socat', () => {
  it('OPEN, PIPE and TCP take setuid/setgid (here to root: no change) and relay as before', async (ctx) => {
    requireOrSkip(ctx, 'root');
    const r = await tsocat(['-u', 'OPEN:/etc/hostname,setuid=0,setgid=0', 'PIPE,setuid-early=0']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('an EXEC/FORK option is still refused on OPEN, with socat\'s wording', async (ctx) => {
    const r = await tsocat(['-u', 'OPEN:/etc/hostname,dash', 'STDOUT']);
    expect(r.status).toBe(1);
    expect(LINE.exec(r.stderr)?.[1]).toBe('parseopts_table(): option "dash" not supported with this address type');
    requireOrSkip(ctx, 'socat');
    const s = await run(SOCAT as string, ['-u', 'OPEN:/etc/hostname,dash', 'STDOUT']);
    expect(s.stderr).toContain('option "dash" not supported with this address type');
  });
});

describe('dash (login): argv[0] starts with "-"', () => {
  for (const name of ['dash', 'login']) {
    it(`EXEC:cat /proc/self/cmdline,${name}`, async (ctx) => {
      const r = await tsocat(['-u', `EXEC:cat /proc/self/cmdline,${name}`, 'STDOUT']);
      expect(r.stdout.toString()).toBe('-cat\0/proc/self/cmdline\0');
      requireOrSkip(ctx, 'socat');
      const s = await run(SOCAT as string, ['-u', `EXEC:cat /proc/self/cmdline,${name}`, 'STDOUT']);
      expect(r.stdout.toString()).toBe(s.stdout.toString());
    });
  }

  it('with setpgid the launcher still execs the program under the dashed name', async () => {
    const r = await tsocat(['-u', 'EXEC:cat /proc/self/cmdline,dash,setpgid', 'STDOUT']);
    expect(r.stdout.toString()).toBe('-cat\0/proc/self/cmdline\0');
  });

  it('SYSTEM does not use dash: refused, as socat fails on it ("option(s) remained unused")', async () => {
    const r = await tsocat(['-u', 'SYSTEM:echo $0,dash', 'STDOUT']);
    expect(r.status).toBe(1);
    expect(LINE.exec(r.stderr)?.[1]).toBe('option "dash" could not be used with SYSTEM');
  });
});

describe('children-shutup: what each peer session logs comes out lower', () => {
  /** -d -d log of a forking listener whose second address cannot open, for one peer. */
  async function logOfOnePeer(program: string[], options: string): Promise<string> {
    const port = await freePort();
    const missing = `/nonexistent-${process.pid}/x`;
    const p = spawn(program[0] as string, [...program.slice(1), '-d', '-d', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork${options}`, `OPEN:${missing}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    try {
      await waitForPort(port);
      await tcpExchange(port, '');
      await waitFor(() => err.includes(missing));
    } finally {
      await stop(p);
    }
    return err
      .split('\n')
      .filter((l) => l.includes(missing) || l.includes('accepting connection'))
      .map((l) => l.replace(/^.*?\] /, '').replace(/:\d+ on .*/, ''))
      .join('\n');
  }

  it('children-shutup: the open error of a peer is a warning, the accept notice stays a notice', async (ctx) => {
    const tsocatCmd = [process.execPath, new URL('../../bin/tsocat.js', import.meta.url).pathname];
    const plain = await logOfOnePeer(tsocatCmd, '');
    const quiet = await logOfOnePeer(tsocatCmd, ',children-shutup');
    expect(plain).toMatch(/^N accepting connection from AF=2 127\.0\.0\.1\nN opening new file .*\nE open\(/);
    // the session's notice is info now, below -d -d; its error a warning
    expect(quiet).toMatch(/^N accepting connection from AF=2 127\.0\.0\.1\nW open\(/);
    expect(await logOfOnePeer(tsocatCmd, ',children-shutup=2')).toMatch(/\nN open\(/);
    const socat18 = socat18OrSkip(ctx, "Debian's 1.7.4.4 has no children-shutup");
    expect(quiet).toBe(await logOfOnePeer([socat18], ',children-shutup'));
  });
});

describe('maxchildren is socat\'s other name for max-children', () => {
  it('without fork it is refused with max-children\'s message', async () => {
    const port = await freePort();
    const r = await tsocat([`TCP-LISTEN:${port},maxchildren=1`, 'STDOUT']);
    expect(r.status).toBe(1);
    expect(LINE.exec(r.stderr)?.[1]).toBe('option max-children not allowed without option fork');
  });
});

describe('a bad value: one E line and status 1, as socat says it', () => {
  const CASES: Array<[string, string]> = [
    ['su=no-such-user-x', 'getpwnam("no-such-user-x"): no such user'],
    ['substuser=99999', 'getpwuid(99999): no such user'],
    ['su-d=no-such-user-x', 'getpwnam("no-such-user-x"): no such user'],
    ['su-e=99999', 'getpwuid(99999): no such user'],
    ['setuid=12x', 'parseopts(): trailing garbage in numerical arg of option "setuid=12x"'],
    ['setuid-early=no-such-user-x', 'getpwnam("no-such-user-x"): no such user'],
    ['setgid=no-such-group-x', 'getgrnam("no-such-group-x"): no such group'],
    ['setgid-early=7y', 'parseopts(): trailing garbage in numerical arg of option "setgid-early=7y"'],
    ['chroot=/no-such-dir-x', 'chroot("/no-such-dir-x"): No such file or directory'],
    ['chroot-early=/no-such-dir-x', 'chroot("/no-such-dir-x"): No such file or directory'],
    ['setuid', 'option "setuid": value required'],
    ['chroot', 'option "chroot": value required'],
  ];
  for (const [option, message] of CASES) {
    it(`OPEN:/etc/hostname,${option}`, async (ctx) => {
      const r = await tsocat(['-u', `OPEN:/etc/hostname,${option}`, 'STDOUT']);
      expect(r.status).toBe(1);
      expect(r.stdout.toString()).toBe('');
      expect(LINE.exec(r.stderr)?.[1]).toBe(message);
      requireOrSkip(ctx, 'socat');
      const s = await run(SOCAT as string, ['-u', `OPEN:/etc/hostname,${option}`, 'STDOUT']);
      expect(s.status).toBe(1);
      expect(s.stderr).toContain(` E ${message}`);
    });
  }

  it('children-shutup=x on a listener', async () => {
    const port = await freePort();
    const r = await tsocat([`TCP-LISTEN:${port},fork,children-shutup=x`, 'STDOUT']);
    expect(r.status).toBe(1);
    expect(LINE.exec(r.stderr)?.[1]).toBe('parseopts(): missing numerical value of option "children-shutup=x"');
  });

  it('dash=maybe on EXEC', async () => {
    const r = await tsocat(['-u', 'EXEC:true,dash=maybe', 'STDOUT']);
    expect(r.status).toBe(1);
    expect(LINE.exec(r.stderr)?.[1]).toBe('parseopts(): missing numerical value of option "dash=maybe"');
  });
});
