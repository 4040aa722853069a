/**
 * EXEC/SYSTEM/SHELL with `pty`: the program on a pseudo-terminal (node-pty),
 * with setsid, ctty, stderr, winsz, signals passed on, an interactive shell in
 * tmux, and the same command lines run through socat 1.7.4.4.
 */
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { backgroundStarter, exited, freePort, requireOrSkip, requires, run, SOCAT, TSOCAT, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';
import { Tmux } from '../pty-helpers.js';

const start = backgroundStarter();

/** Connects and collects what arrives until `done` says enough. */
function client(port: number): { socket: Socket; text: () => string } {
  const socket = connect({ port, host: '127.0.0.1' });
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('error', () => {});
  return { socket, text: () => text };
}

describe('EXEC/SYSTEM with pty', () => {
  it('TCP-LISTEN,fork SYSTEM:tty,pty,setsid,ctty gives each of several concurrent clients its own /dev/pts path', async () => {
    const port = await freePort();
    start([`TCP-LISTEN:${port},fork,reuseaddr`, 'SYSTEM:tty; cat,pty,setsid,ctty']);
    await waitForPort(port);
    const clients = [client(port), client(port), client(port), client(port)];
    await waitFor(() => clients.every((c) => /\/dev\/pts\/\d+\r\n/.test(c.text())), 8000);
    const paths = clients.map((c) => (c.text().match(/\/dev\/pts\/\d+/) as RegExpMatchArray)[0]);
    expect(new Set(paths).size).toBe(4);
    // each is a live terminal: what a client types comes back from its own cat
    for (const [i, c] of clients.entries()) c.socket.write(`client ${i}\n`);
    await waitFor(() => clients.every((c, i) => c.text().includes(`client ${i}\r\nclient ${i}\r\n`)), 5000);
    for (const c of clients) c.socket.destroy();
  });

  it('SHELL with no command is the shell itself, reading commands from the pty (socat 1.8; test.sh INTERACTIVE_SHELL)', async () => {
    const shell = start(['-', 'SHELL,pty,setsid,ctty,cfmakeraw'], { env: { ...process.env, SHELL: '/bin/sh' } });
    // $0 is the shell's own name: no -c, no command line of ours
    shell.stdin?.write('echo $((6*7)) $0\n');
    await waitFor(() => shell.output().includes('42 sh'), 8000);
    shell.stdin?.end('exit\n');
    expect(await exited(shell)).toBe(0);
    const refused = await tsocat(['-', 'SHELL:true:false']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/ E SHELL: wrong number of parameters \(2 instead of 1\)/);
  });

  it('stderr goes to the pty with stderr, to tsocat\'s stderr without it', async () => {
    const program = 'SYSTEM:echo out; echo err >&2';
    const withOption = await tsocat(['-u', `${program},pty,stderr`, '-']);
    expect(withOption.stdout.toString()).toBe('out\r\nerr\r\n');
    const without = await tsocat(['-u', `${program},pty`, '-']);
    expect(without.stdout.toString()).toBe('out\r\n');
    expect(without.stderr).toBe('err\n');
  });

  it('everything a program wrote before exiting at once arrives: seq 1 3000 (14 kB) on a pty, five runs', async () => {
    // the program's last output is still between the slave and the master when it exits; the
    // master is read until EIO (as socat does), not until the first hang-up libuv sees
    const want = Array.from({ length: 3000 }, (_, i) => `${i + 1}\r\n`).join('');
    for (let i = 0; i < 5; i++) {
      const r = await tsocat(['-u', 'SYSTEM:seq 1 3000,pty', '-']);
      expect(r.stdout.length, `run ${i}`).toBe(want.length);
      expect(r.stdout.toString(), `run ${i}`).toBe(want);
    }
  });

  it('the window size from winsz= is what stty size prints inside', async () => {
    const r = await tsocat(['-u', 'SYSTEM:stty size <&1,pty,winsz=132:43', '-']);
    expect(r.stdout.toString()).toBe('43 132\r\n');
  });

  it('TERMIOS options act on the program\'s pty: raw,echo=0 and a speed', async () => {
    const r = await tsocat(['-u', 'SYSTEM:stty -a <&1,pty,raw,echo=0,b57600', '-']);
    const text = r.stdout.toString();
    expect(text).toMatch(/speed 57600 baud/);
    for (const flag of ['-echo', '-icanon', '-isig', '-opost']) expect(text.split(/[\s;]+/)).toContain(flag);
  });

  it('the exit status is reported as with pipes', async () => {
    const onPty = await tsocat(['-u', 'SYSTEM:exit 3,pty', '-']);
    const onPipes = await tsocat(['-u', 'SYSTEM:exit 3', '-']);
    expect(onPty.status).toBe(onPipes.status);
    expect(onPty.stderr.replace(/\d+/g, 'N')).toBe(onPipes.stderr.replace(/\d+/g, 'N'));
  });

  it('ctty without setsid warns as socat does, and the program runs without a controlling terminal', async () => {
    const r = await tsocat(['-u', 'SYSTEM:if (true </dev/tty) 2>/dev/null; then echo has; else echo none; fi,pty,ctty', '-']);
    expect(r.stdout.toString()).toBe('none\r\n');
    expect(r.stderr).toMatch(/W ioctl\(1, TIOCSCTTY, NULL\): Operation not permitted/);
  });

  for (const [option, signal] of [['sigint', 'SIGINT'], ['sighup', 'SIGHUP'], ['sigquit', 'SIGQUIT']] as const) {
    it(`${option} passes ${signal} to the program instead of ending tsocat`, async () => {
      const { dir, cleanup } = tempDir();
      onTestFinished(cleanup);
      const script = join(dir, 'wait-for-signal.sh');
      writeFileSync(script, `trap "echo got-${signal}; exit 0" ${signal.slice(3)}\necho ready\nwhile true; do sleep 0.05; done\n`);
      const relay = start(['-u', `SYSTEM:exec sh ${script},pty,setsid,ctty,${option}`, 'STDOUT']);
      await waitFor(() => relay.output().includes('ready'));
      relay.kill(signal);
      const code = await new Promise<number | null>((resolve) => relay.once('exit', resolve));
      expect(relay.output()).toContain(`got-${signal}`);
      expect(code).toBe(0);
      expect(relay.errors()).not.toMatch(/exiting on signal/);
    });
  }
});

describe('EXEC with pty against socat 1.7.4.4', () => {
  const cases = [
    'SYSTEM:stty -a <&1,pty',
    'SYSTEM:stty -a <&1,pty,raw,echo=0',
    'SYSTEM:stty -a <&1,pty,icanon=0,vmin=2',
    'SYSTEM:stty -a <&1,pty,b2400,cstopb,onlcr=0',
    'SYSTEM:exec 3</dev/tty && echo has-ctty,pty,setsid,ctty',
    'SYSTEM:if (true </dev/tty) 2>/dev/null; then echo has; else echo none; fi,pty,setsid',
    'SYSTEM:if (true </dev/tty) 2>/dev/null; then echo has; else echo none; fi,pty,setsid,ctty',
    'SYSTEM:echo out; echo err >&2,pty,stderr',
    'SYSTEM:test -t 1 && echo terminal; test -t 0 || echo stdin-not-a-terminal,pty',
    'EXEC:printf a\\tb\\n,pty',
  ];
  for (const address of cases) {
    it(`-u '${address}' - gives socat's bytes`, async (ctx) => {
      requireOrSkip(ctx, 'socat');
      const ours = await tsocat(['-u', address, '-']);
      const theirs = await run(SOCAT as string, ['-u', address, '-']);
      expect(ours.stdout.toString()).toBe(theirs.stdout.toString());
      expect(ours.status).toBe(theirs.status);
    });
  }
});

describe('an interactive shell through EXEC…,pty, driven in tmux', () => {
  requires('tmux');

  it('a bash prompt, stty size, Ctrl-C interrupting sleep with the shell surviving, and the outer terminal put back', async () => {
    const tmux = new Tmux('bash --norc --noprofile', { cols: 120, rows: 40 });
    try {
      tmux.keys(`PS1='outer$ '; stty -g > /tmp/tsocat-tmux-$$.before; echo ready`, 'Enter');
      await tmux.waitFor(/^ready$/m);
      tmux.keys(`${process.execPath} ${TSOCAT} -,raw,echo=0 'EXEC:bash --norc --noprofile -i,pty,setsid,ctty,stderr,winsz=100:30'`, 'Enter');
      await tmux.waitFor(/bash-[\d.]+[$#]\s*$/m);
      tmux.keys("PS1='inner$ '", 'Enter');
      await tmux.waitFor(/^inner\$\s*$/m);
      tmux.keys('stty size', 'Enter');
      await tmux.waitFor(/^30 100$/m);
      tmux.keys('sleep 30; echo sleep-ended-$?', 'Enter');
      await tmux.waitFor(/^inner\$ sleep 30; echo sleep-ended-\$\?$/m);
      tmux.keys('C-c');
      // bash reports the interrupted list and shows its prompt again: it survived
      await tmux.waitFor(/\^C\s*\ninner\$\s*$/m);
      tmux.keys('echo shell-alive', 'Enter');
      await tmux.waitFor(/^shell-alive$/m);
      tmux.keys('exit', 'Enter');
      await tmux.waitFor(/^outer\$\s*$/m);
      tmux.keys(`stty -g | cmp - /tmp/tsocat-tmux-$$.before && echo terminal-restored; rm /tmp/tsocat-tmux-$$.before`, 'Enter');
      const screen = await tmux.waitFor(/^terminal-restored$|differ/m);
      expect(screen).toMatch(/^terminal-restored$/m);
      // the sleep was interrupted, so the list never got to its echo
      expect(screen).not.toMatch(/^sleep-ended-/m);
    } finally {
      tmux.close();
    }
  });
});

describe('EXEC with pty and nofork', () => {
  it('nofork wins, as in socat (its nofork path never reaches the pty code): the program runs on address 1\'s descriptors, one W line says pty went unused', async () => {
    const r = await tsocat(['-', 'SYSTEM:tty || cat,pty,nofork'], { input: 'piped\n' });
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe('not a tty\npiped\n');
    expect(r.stderr).toMatch(/^\S+ \S+ tsocat\[\d+\] W option pty has no effect with nofork: the program takes address 1's descriptors\n$/);
  });
});

describe('EXEC with pty: bad input', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['pty with pipes', 'SYSTEM:true,pty,pipes', /E option "pipes" cannot be combined with "pty"/],
    ['link on a program pty', 'SYSTEM:true,pty,link=/tmp/x', /E option "symbolic-link" is for the PTY address/],
    ['winsz without pty', 'SYSTEM:true,winsz=80:24', /E option "tiocswinsz" needs a pty/],
    ['ctty without pty', 'SYSTEM:true,ctty', /E option "tiocsctty" needs a pty/],
    ['a program that does not exist', 'EXEC:/nonexistent/program,pty', /E execvp\("\/nonexistent\/program", \.\.\.\): No such file or directory/],
  ];
  for (const [what, address, message] of cases) {
    it(`${what}: one E line, status 1`, async () => {
      const r = await tsocat(['-u', address, '-']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }
});
