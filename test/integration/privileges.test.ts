/**
 * Privileges on every address (issue #10, point 2): su/substuser,
 * su-d/substuser-delayed, su-e/substuser-early, setuid(-early),
 * setgid(-early), chroot(-early). tsocat serves peers inside one process, so
 * on a listener they change the whole of tsocat, once the socket is bound;
 * a program (EXEC, SYSTEM) gets them as socat's child gives them. These need
 * root and the user nobody (65534) / group nogroup (65534), as CI has.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backgroundStarter, exited, freePort, requireOrSkip, requires, run, SOCAT, stop, tcpExchange, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';

const background = backgroundStarter();
const NOBODY = 65534;

let dir = '';
let cleanup = () => {};
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  // nobody must be able to create files here once tsocat has become nobody
  chmodSync(dir, 0o777);
});
afterEach(() => cleanup());

/** The effective uid and gid of a running process, from /proc. */
function idsOf(pid: number): { uid: number; gid: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number((new RegExp(`^${name}:\\s+\\d+\\s+(\\d+)`, 'm').exec(status) ?? [])[1]);
  return { uid: field('Uid'), gid: field('Gid') };
}

/** A port below 1024 that nothing listens on: binding it needs root. */
async function freeLowPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 600 + Math.floor(Math.random() * 400);
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below 1024');
}

/** `id` as a program started with these EXEC options prints it. */
async function idUnder(options: string): Promise<string> {
  const r = await tsocat(['-u', `EXEC:id${options}`, 'STDOUT']);
  expect(r.stderr).toBe('');
  return r.stdout.toString().trim();
}

describe('privileges on a listener apply to the whole of tsocat, after the socket is bound', () => {
  requires('root', 'nobody');

  it('TCP-LISTEN:P,fork,su=nobody EXEC:id answers as nobody, and the listener still accepts a second peer', async (ctx) => {
    const port = await freePort();
    const p = background([`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,su=nobody`, 'EXEC:id']);
    await waitForPort(port);
    const first = (await tcpExchange(port, '')).toString();
    const second = (await tcpExchange(port, '')).toString();
    expect(first).toMatch(/^uid=65534\(nobody\) gid=65534\(nogroup\)/);
    expect(second).toBe(first);
    // in-process fork: tsocat itself is nobody now
    expect(idsOf(p.pid as number)).toEqual({ uid: NOBODY, gid: NOBODY });
    requireOrSkip(ctx, 'socat');
    const sport = await freePort();
    const socat = spawn(SOCAT as string, [`TCP-LISTEN:${sport},bind=127.0.0.1,reuseaddr,fork,su=nobody`, 'EXEC:id'], { stdio: 'ignore' });
    try {
      await waitForPort(sport);
      expect((await tcpExchange(sport, '')).toString()).toBe(first);
    } finally {
      await stop(socat);
    }
  });

  it('su drops after bind, so a port below 1024 is still bound; su-e and setuid-early drop before, so bind fails', async () => {
    const low = await freeLowPort();
    const late = background([`TCP-LISTEN:${low},bind=127.0.0.1,reuseaddr,su=nobody`, 'EXEC:id']);
    await waitForPort(low);
    expect((await tcpExchange(low, '')).toString()).toMatch(/^uid=65534\(nobody\)/);
    await exited(late);
    for (const early of ['su-e=nobody', 'setuid-early=nobody', 'substuser-early=65534']) {
      const r = await tsocat([`TCP-LISTEN:${low},bind=127.0.0.1,reuseaddr,${early}`, 'EXEC:id'], { timeoutMs: 5000 });
      expect(r.status, early).toBe(1);
      expect(r.stderr, early).toMatch(new RegExp(`^\\S+ \\S+ tsocat\\[\\d+\\] E bind\\(AF=2 127\\.0\\.0\\.1:${low}\\): Permission denied\\n$`));
    }
  });

  it('chroot=<dir> confines a later OPEN: of an absolute path', async () => {
    writeFileSync(join(dir, 'data.txt'), 'inside the new root\n');
    const port = await freePort();
    background([`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,chroot=${dir}`, 'OPEN:/data.txt']);
    await waitForPort(port);
    expect((await tcpExchange(port, '')).toString()).toBe('inside the new root\n');
  });

  it('su-d looks the user up before the chroot and changes to it after: a file created in the new root is nobody\'s', async () => {
    const port = await freePort();
    background([`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,chroot=${dir},su-d=nobody`, 'CREATE:/made-by']);
    await waitForPort(port);
    await tcpExchange(port, 'hello\n');
    await waitFor(() => existsSync(join(dir, 'made-by')) && statSync(join(dir, 'made-by')).size === 6);
    expect(statSync(join(dir, 'made-by')).uid).toBe(NOBODY);
  });

  it('a drop that fails is fatal before any peer is served: one E line, status 1', async () => {
    const port = await freePort();
    // after su, the real group is nogroup: setgid(0) is not allowed
    const r = await tsocat([`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,su=nobody,setgid=0`, 'EXEC:id'], { timeoutMs: 5000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^\S+ \S+ tsocat\[\d+\] E setgid\(0\): Operation not permitted\n$/);
    const missing = join(dir, 'no-such-dir');
    const c = await tsocat([`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,chroot=${missing}`, 'EXEC:id'], { timeoutMs: 5000 });
    expect(c.status).toBe(1);
    expect(c.stderr).toMatch(new RegExp(`^\\S+ \\S+ tsocat\\[\\d+\\] E chroot\\("${missing}"\\): No such file or directory\\n$`));
  });
});

describe('early and late phases on an address that opens a file', () => {
  requires('root', 'nobody');

  it('chroot-early acts before OPEN opens its path; chroot only after', async () => {
    const name = `/tsocat-priv-${process.pid}-${Date.now()}.txt`;
    writeFileSync(join(dir, name), 'early root\n');
    const early = await tsocat(['-u', `OPEN:${name},chroot-early=${dir}`, 'STDOUT']);
    expect(early.stdout.toString()).toBe('early root\n');
    const late = await tsocat(['-u', `OPEN:${name},chroot=${dir}`, 'STDOUT']);
    expect(late.status).toBe(1);
    expect(late.stderr).toMatch(new RegExp(`^\\S+ \\S+ tsocat\\[\\d+\\] E open\\("${name}", .*\\): No such file or directory\\n$`));
  });

  it('setuid-early and setgid-early act before CREATE makes its file; setuid and setgid only after', async () => {
    const made = async (name: string, options: string) => {
      const r = await tsocat(['-u', 'STDIN', `CREATE:${join(dir, name)},${options}`], { input: 'x' });
      expect(r.stderr).toBe('');
      const st = statSync(join(dir, name));
      return { uid: st.uid, gid: st.gid };
    };
    expect(await made('a', 'setuid-early=nobody')).toEqual({ uid: NOBODY, gid: 0 });
    expect(await made('b', 'setgid-early=nogroup')).toEqual({ uid: 0, gid: NOBODY });
    expect(await made('c', 'setuid=nobody')).toEqual({ uid: 0, gid: 0 });
    expect(await made('d', 'setgid=nogroup')).toEqual({ uid: 0, gid: 0 });
  });
});

describe('a program gets its privileges as socat gives them', () => {
  requires('root', 'nobody');

  const CASES: Array<[string, RegExp]> = [
    [',su=nobody', /^uid=65534\(nobody\) gid=65534\(nogroup\) groups=65534\(nogroup\)$/],
    [',substuser-delayed=nobody', /^uid=65534\(nobody\) gid=65534\(nogroup\) groups=65534\(nogroup\)$/],
    [',su-e=nobody', /^uid=65534\(nobody\) gid=65534\(nogroup\) groups=65534\(nogroup\)$/],
    // setuid keeps root's groups, as the man page warns
    [',setuid=nobody', /^uid=65534\(nobody\) gid=0\(root\)/],
    [',setuid-early=65534', /^uid=65534\(nobody\) gid=0\(root\)/],
    [',setgid=nogroup', /^uid=0\(root\) gid=65534\(nogroup\)/],
    [',setgid-early=nogroup', /^uid=0\(root\) gid=65534\(nogroup\)/],
  ];
  for (const [options, expected] of CASES) {
    it(`EXEC:id${options}`, async (ctx) => {
      const mine = await idUnder(options);
      expect(mine).toMatch(expected);
      requireOrSkip(ctx, 'socat');
      const theirs = await run(SOCAT as string, ['-u', `EXEC:id${options}`, 'STDOUT']);
      expect(mine).toBe(theirs.stdout.toString().trim());
    });
  }

  it('su sets USER, LOGNAME, HOME and SHELL for the program', async () => {
    const r = await tsocat(['-u', 'SYSTEM:echo $USER $LOGNAME $HOME $SHELL,su=nobody', 'STDOUT']);
    const nobody = (readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:')) as string).split(':');
    expect(r.stdout.toString()).toBe(`nobody nobody ${nobody[5]} ${nobody[6]}\n`);
  });

  it('chroot: the program runs inside the new root', async () => {
    // a root holding cat and the libraries it loads
    const cat = '/bin/cat';
    const libs = execFileSync('ldd', [cat], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /(\/\S+)\s+\(/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined);
    for (const file of [cat, ...libs]) {
      mkdirSync(join(dir, dirname(file)), { recursive: true });
      copyFileSync(file, join(dir, file));
    }
    chmodSync(join(dir, cat), 0o755);
    writeFileSync(join(dir, 'data.txt'), 'seen from inside\n');
    const r = await tsocat(['-u', `EXEC:${cat} /data.txt,chroot=${dir}`, 'STDOUT']);
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe('seen from inside\n');
  });

  it('a step the program cannot take is one E line and status 1', async () => {
    const r = await tsocat(['-u', 'EXEC:id,su=nobody,setgid=0', 'STDOUT']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^\S+ \S+ tsocat\[\d+\] E setgid\(0\): Operation not permitted\n$/);
  });
});
