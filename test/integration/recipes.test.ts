/**
 * docs/recipes.md, run as written: each `<!-- recipe: id -->` block's command
 * lines are read from the document and run by sh, with `tsocat` on the PATH,
 * the document's ports swapped for free ones and /tmp for a folder of the
 * test's own. What each test checks is what the recipe says you see.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, isUnixListening, requireOrSkip, ROOT, run, stop, TSOCAT, tempDir, waitFor, waitForPort } from '../helpers.js';
import { Tmux } from '../pty-helpers.js';
import { ss } from '../socket-helpers.js';

/** The ports the recipes use; each test gets free ones instead. */
const DOC_PORTS = [4545, 8080, 4443, 7878, 5353, 2323] as const;

/** Every recipe block in docs/recipes.md: id → its lines (comments kept: sh ignores them). */
function recipes(): Map<string, string[]> {
  const text = readFileSync(join(ROOT, 'docs', 'recipes.md'), 'utf8');
  const out = new Map<string, string[]>();
  for (const m of text.matchAll(/<!-- recipe: ([\w-]+) -->\n```sh\n([\s\S]*?)```/g)) {
    out.set(m[1] as string, (m[2] as string).split('\n').filter((l) => l.trim() !== ''));
  }
  return out;
}

interface Kitchen {
  dir: string;
  port: Record<(typeof DOC_PORTS)[number], number>;
  /** A recipe's lines with this test's ports and folder. */
  lines(id: string): string[];
  /** Starts a line that keeps running; stopped after the test. */
  background(line: string): ChildProcess & { output: () => string };
  /** Runs a line to its end; its stdout. */
  foreground(line: string, timeoutMs?: number): Promise<string>;
  env: NodeJS.ProcessEnv;
}

const started: ChildProcess[] = [];
let cleanups: Array<() => void> = [];
let kitchen: Kitchen;

beforeEach(async () => {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  // `tsocat` on the PATH, as after the README's npm link
  const bin = join(dir, 'bin');
  await run('mkdir', [bin]);
  symlinkSync(TSOCAT, join(bin, 'tsocat'));
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const port = {} as Kitchen['port'];
  for (const p of DOC_PORTS) port[p] = await freePort();
  const localise = (line: string) =>
    line.replace(/(?<=:)(4545|8080|4443|7878|5353|2323)\b/g, (p) => String(port[Number(p) as (typeof DOC_PORTS)[number]])).replaceAll('/tmp/', `${dir}/`);
  kitchen = {
    dir,
    port,
    env,
    lines(id) {
      const lines = recipes().get(id);
      if (!lines) throw new Error(`docs/recipes.md has no recipe "${id}"`);
      return lines.map(localise);
    },
    background(line) {
      // exec: the pid is tsocat's (or cat's), stopped by it after the test
      const child = spawn('sh', ['-c', `exec ${line}`], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      started.push(child);
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      return Object.assign(child, { output: () => out });
    },
    async foreground(line, timeoutMs = 10000) {
      const r = await run('sh', ['-c', line], { cwd: dir, env, timeoutMs });
      expect(r.stderr, line).toBe('');
      expect(r.status, line).toBe(0);
      return r.stdout.toString();
    },
  };
});

afterEach(async () => {
  for (const p of started.splice(0)) await stop(p);
  for (const c of cleanups.splice(0)) c();
  cleanups = [];
});

/** A UDP socket bound to the port (the recipe's UDP service is up). */
function udpBound(port: number): boolean {
  return ss('uln', `sport = :${port}`).length > 0;
}

describe('docs/recipes.md', () => {
  it('has the recipes this file runs, and no others', () => {
    expect([...recipes().keys()].sort()).toEqual(
      ['fork-to-file', 'fork-to-stdout', 'null-modem', 'program-over-tcp', 'remote-shell', 'serial-over-tcp', 'tls-in-front', 'udp-tcp', 'unix-in-front'].sort(),
    );
  });

  it('1. fork-to-stdout: every client shows on the listener', async () => {
    const [listen, one, two] = kitchen.lines('fork-to-stdout') as [string, string, string];
    const server = kitchen.background(listen);
    await waitForPort(kitchen.port[4545]);
    await kitchen.foreground(one);
    await waitFor(() => server.output() === 'one\n', 5000, 'one on the listener');
    await kitchen.foreground(two);
    await waitFor(() => server.output() === 'one\ntwo\n', 5000, 'two on the listener');
  });

  it('1. fork-to-file: every client is appended to the file', async () => {
    const [listen, one, two, show] = kitchen.lines('fork-to-file') as [string, string, string, string];
    kitchen.background(listen);
    await waitForPort(kitchen.port[4545]);
    const log = join(kitchen.dir, 'received.log');
    const content = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');
    await kitchen.foreground(one);
    await waitFor(() => content() === 'one\n', 5000, 'one in the file');
    await kitchen.foreground(two);
    await waitFor(() => content() === 'one\ntwo\n', 5000, 'two in the file');
    expect(await kitchen.foreground(show)).toBe('one\ntwo\n');
  });

  it('2. null-modem: what is written to one end comes out of the other', async () => {
    const [pair, reader, writer] = kitchen.lines('null-modem') as [string, string, string];
    kitchen.background(pair);
    await waitFor(() => existsSync(join(kitchen.dir, 'ttyV0')) && existsSync(join(kitchen.dir, 'ttyV1')), 5000, 'both ends');
    const cat = kitchen.background(reader);
    // cat has the end open once its first read waits: the write after may still come first, so write until it shows
    for (let i = 0; i < 50 && !cat.output().includes('hello\n'); i++) {
      await kitchen.foreground(writer);
      await waitFor(() => cat.output().includes('hello\n'), 200, 'hello').catch(() => {});
    }
    expect(cat.output()).toMatch(/^(hello\n)+$/);
  });

  it('2. serial-over-tcp: the device (a null-modem end) served on TCP, and back as a local terminal', async () => {
    const [device, remote, program] = kitchen.lines('serial-over-tcp') as [string, string, string];
    expect(program).toMatch(/^screen /);
    // the null-modem stands in for the device: SERIAL opens ttyV0, the test talks to ttyV1
    kitchen.background((kitchen.lines('null-modem')[0] as string));
    await waitFor(() => existsSync(join(kitchen.dir, 'ttyV1')), 5000, 'the null-modem');
    kitchen.background(device.replace('/dev/ttyUSB0', join(kitchen.dir, 'ttyV0')));
    await waitForPort(kitchen.port[2323]);
    kitchen.background(remote);
    const ttyRemote = join(kitchen.dir, 'ttyRemote');
    await waitFor(() => existsSync(ttyRemote), 5000, '/tmp/ttyRemote');
    const atDevice = kitchen.background(`cat ${join(kitchen.dir, 'ttyV1')}`);
    const atRemote = kitchen.background(`cat ${ttyRemote}`);
    for (let i = 0; i < 50 && !atDevice.output().includes('to the device\n'); i++) {
      await kitchen.foreground(`echo to the device > ${ttyRemote}`);
      await waitFor(() => atDevice.output().includes('to the device\n'), 200, 'bytes at the device').catch(() => {});
    }
    expect(atDevice.output()).toContain('to the device\n');
    for (let i = 0; i < 50 && !atRemote.output().includes('from the device\n'); i++) {
      await kitchen.foreground(`echo from the device > ${join(kitchen.dir, 'ttyV1')}`);
      await waitFor(() => atRemote.output().includes('from the device\n'), 200, 'bytes at the remote terminal').catch(() => {});
    }
    expect(atRemote.output()).toContain('from the device\n');
  });

  it('3. program-over-tcp: one program per client', async () => {
    const [listen, client] = kitchen.lines('program-over-tcp') as [string, string];
    kitchen.background(listen);
    await waitForPort(kitchen.port[4545]);
    expect(await kitchen.foreground(client)).toBe('HELLO\n');
    expect(await kitchen.foreground(client)).toBe('HELLO\n');
  });

  describe('3. remote-shell, in a real terminal (tmux)', () => {
    beforeEach((ctx) => requireOrSkip(ctx, 'tmux'));

    /** The client line in a tmux pane; after it ends, its status and the terminal's echo/icanon settings. */
    async function shellSession(): Promise<Tmux> {
      const [listen, client] = kitchen.lines('remote-shell') as [string, string];
      kitchen.background(listen);
      await waitForPort(kitchen.port[4545]);
      const script = join(kitchen.dir, 'client.sh');
      writeFileSync(
        script,
        `export PATH=${kitchen.env.PATH}\ncd ${kitchen.dir}\n${client}\necho "CLIENT-ENDED-$? $(stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo | tr '\\n' ' ')END"\nexec sleep 60\n`,
      );
      const tmux = new Tmux(`sh ${script}`);
      cleanups.push(() => tmux.close());
      tmux.keys('echo remote-$((6*7))', 'Enter');
      await tmux.waitFor(/^remote-42\s*$/m);
      return tmux;
    }

    it('bash on a pty of its own; Ctrl-C reaches the remote program; exit ends the client and gives the terminal back', async () => {
      const tmux = await shellSession();
      tmux.keys('tty', 'Enter');
      await tmux.waitFor(/^\/dev\/pts\/\d+\s*$/m);
      tmux.keys('sleep 100; echo not-interrupted', 'Enter');
      tmux.keys('C-c');
      // the terminal discards what was typed ahead when ^C arrives (no noflsh): a line typed before the
      // shell's prompt is back may be gone, so it is typed again, at most three times
      for (let i = 0; ; i++) {
        tmux.keys('echo still-$((2+3))', 'Enter');
        try {
          await tmux.waitFor(/^still-5\s*$/m, 3000);
          break;
        } catch (err) {
          if (i === 2) throw err;
        }
      }
      expect(tmux.screen()).not.toMatch(/^not-interrupted\s*$/m);
      tmux.keys('exit', 'Enter');
      const screen = await tmux.waitFor(/CLIENT-ENDED-\d+ .*END/);
      // status 0, and the terminal has its line editing and echo back
      expect(screen).toMatch(/CLIENT-ENDED-0 (icanon echo |echo icanon )END/);
    });

    it('Ctrl-] (escape=0x1d) leaves the client at once', async () => {
      const tmux = await shellSession();
      tmux.keys('C-]');
      const screen = await tmux.waitFor(/CLIENT-ENDED-\d+ .*END/);
      expect(screen).toMatch(/CLIENT-ENDED-0 (icanon echo |echo icanon )END/);
    });
  });

  it('4. tls-in-front: a TLS client that checks the certificate reaches the plain server', async (ctx) => {
    requireOrSkip(ctx, 'openssl');
    const [makeCert, makePem, plain, front, client] = kitchen.lines('tls-in-front') as [string, string, string, string, string];
    await kitchen.foreground(makeCert, 30000);
    await kitchen.foreground(makePem);
    kitchen.background(plain);
    kitchen.background(front);
    await waitForPort(kitchen.port[8080]);
    await waitForPort(kitchen.port[4443]);
    expect(await kitchen.foreground(client)).toBe('HELLO\n');
    // the certificate is checked: without cafile the same client is refused
    const r = await run('sh', ['-c', client.replace(',cafile=srv.crt', '')], { cwd: kitchen.dir, env: kitchen.env });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E .*certificate/i);
  });

  it('5. unix-in-front: the TCP server through a socket file only its owner may use', async () => {
    const [plain, front, client] = kitchen.lines('unix-in-front') as [string, string, string];
    kitchen.background(plain);
    await waitForPort(kitchen.port[8080]);
    kitchen.background(front);
    const sock = join(kitchen.dir, 'app.sock');
    await waitFor(() => isUnixListening(sock), 5000, 'the socket file listening');
    expect((await run('stat', ['-c', '%a', sock])).stdout.toString().trim()).toBe('600');
    expect(await kitchen.foreground(client)).toBe('HELLO\n');
  });

  it('6. udp-tcp: TCP clients reach a UDP service, UDP clients a TCP server', async () => {
    const [udpService, tcpFront, tcpClient, tcpServer, udpFront, udpClient] = kitchen.lines('udp-tcp') as [string, string, string, string, string, string];
    kitchen.background(udpService);
    await waitFor(() => udpBound(kitchen.port[7878]), 5000, 'the UDP service bound');
    kitchen.background(tcpFront);
    await waitForPort(kitchen.port[4545]);
    expect(await kitchen.foreground(tcpClient)).toBe('hello\n');
    kitchen.background(tcpServer);
    await waitForPort(kitchen.port[8080]);
    kitchen.background(udpFront);
    await waitFor(() => udpBound(kitchen.port[5353]), 5000, 'the UDP front bound');
    expect(await kitchen.foreground(udpClient)).toBe('HELLO\n');
  });
});
