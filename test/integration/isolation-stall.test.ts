/**
 * One session never harms another (docs/DESIGN "One process, many sessions"):
 * nothing blocks the event loop. tsocat runs with TSOCAT_LOOP_WATCHDOG=100, so
 * a loop stuck for more than 100 ms says so on stderr (a thread of its own
 * watches, so a loop stuck in a system call is seen while stuck), and the
 * tests fail on that line. Then smaller differences from socat found with the
 * same issue, each compared with socat on the same command line.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import { backgroundStarter, exited, freePort, requireOrSkip, ROOT, run, SOCAT, stop, TSOCAT, tempDir, waitFor, waitForPort } from '../helpers.js';

const WATCHDOG = { ...process.env, TSOCAT_LOOP_WATCHDOG: '100' };
const STALL = 'event loop stalled';
const WATCHING = 'loop watchdog: stalls over 100 ms are reported';
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const start = backgroundStarter();
const helpers: ChildProcess[] = [];
const sockets: Socket[] = [];
const servers: Server[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
  for (const c of helpers.splice(0)) {
    c.stdin?.end();
    await stop(c);
  }
  for (const d of dirs.splice(0)) d();
});

const count = (text: string, what: string) => text.split(what).length - 1;

/**
 * The watchdog's lines once the first session is under way. Before that the first
 * open loads the FFI module (koffi) for the terminal or lock calls, once per
 * process, which on a loaded machine can hold the loop ~100 ms by itself.
 */
const stallsAfter = (log: string, mark: string) => {
  const at = log.indexOf(mark);
  return at < 0 ? [`no "${mark}" in: ${log}`] : log.slice(at).split('\n').filter((l) => l.includes(STALL));
};

/** A helper process we start (and stop, by pid, after the test), with its output so far. */
function helper(cmd: string, args: string[]): { child: ChildProcess; out: () => string } {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  helpers.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return { child, out: () => out };
}

/**
 * python3 holds a pty pair and never reads its master: it prints the slave's name,
 * then "waiting" once bytes wait at the master unread (tsocat is writing to the slave).
 */
const HOLD_PTY = `
import fcntl, os, pty, struct, sys, termios, time
m, s = pty.openpty()
print(os.ttyname(s), flush=True)
t0 = time.time()
while time.time() - t0 < 60:
    if struct.unpack('i', fcntl.ioctl(m, termios.FIONREAD, b'\\0' * 4))[0] > 0:
        print('waiting', flush=True)
        break
    time.sleep(0.01)
sys.stdin.read()
`;

/** The relay listening on `port`; if it is not, the failure says whether it is still starting or exited, and its log. */
async function listening(p: ReturnType<typeof start>, port: number): Promise<void> {
  await waitForPort(port).catch((err: Error) => {
    throw new Error(`${err.message}; tsocat ${p.exitCode === null ? 'still running' : `exited with ${p.exitCode}`}, its log: ${p.errors()}`);
  });
}

function client(port: number): Socket {
  const s = connect({ port, host: '127.0.0.1' });
  s.on('error', () => {});
  sockets.push(s);
  return s;
}

describe('nothing blocks the event loop', () => {
  it('a terminal nobody reads (TCP-LISTEN,fork /dev/pts/N,raw,echo=0, 4 MB pushed) stalls only its session: a second client is served within a second, SIGTERM obeyed within a second', async () => {
    const pty = helper(PYTHON, ['-c', HOLD_PTY]);
    await waitFor(() => pty.out().includes('\n'), 5000, 'the pty name');
    const path = pty.out().split('\n')[0] as string;
    const port = await freePort();
    const p = start(['-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, `${path},raw,echo=0`], { env: WATCHDOG });
    await listening(p, port);
    await waitFor(() => p.errors().includes(WATCHING), 5000, 'the loop watchdog');
    client(port).write(Buffer.alloc(4 * 1024 * 1024, 'a'));
    // tsocat's writes now fill a terminal that nobody reads
    await waitFor(() => pty.out().includes('waiting'), 5000, 'bytes unread at the pty master');
    client(port);
    await waitFor(() => count(p.errors(), 'starting data transfer loop') === 2, 1000, `the second session (log so far: ${p.errors()})`);
    p.kill('SIGTERM');
    expect(await exited(p, 1000)).toBe(143);
    expect(stallsAfter(p.errors(), 'starting data transfer loop')).toEqual([]);
  });

  it('STDOUT a terminal nobody reads (TCP-LISTEN,fork STDOUT, 4 MB pushed): a second client is served within a second, SIGTERM obeyed within a second', async () => {
    const pty = helper(PYTHON, ['-c', HOLD_PTY]);
    await waitFor(() => pty.out().includes('\n'), 5000, 'the pty name');
    const path = pty.out().split('\n')[0] as string;
    const port = await freePort();
    // tsocat's stdout is the terminal, inherited as a shell would hand it down
    const tty = openSync(path, constants.O_WRONLY | constants.O_NOCTTY);
    const p = start(['-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, 'STDOUT'], { env: WATCHDOG, stdout: tty });
    closeSync(tty);
    await waitForPort(port);
    await waitFor(() => p.errors().includes(WATCHING), 5000, 'the loop watchdog');
    client(port).write(Buffer.alloc(4 * 1024 * 1024, 'a'));
    await waitFor(() => pty.out().includes('waiting'), 5000, 'bytes unread at the pty master');
    // before: Node writes a terminal blocking; the process sat in the kernel's write, accepting nobody
    client(port);
    await waitFor(() => count(p.errors(), 'starting data transfer loop') === 2, 1000, `the second session (log so far: ${p.errors()})`);
    const asked = Date.now();
    p.kill('SIGTERM');
    // before: the exit waited for stdout to flush, until the relay's 1 s backstop
    expect(await exited(p, 1000)).toBe(143);
    expect(Date.now() - asked).toBeLessThan(800);
    expect(stallsAfter(p.errors(), 'starting data transfer loop')).toEqual([]);
  });

  it('a lock wait (OPEN:file,flock-ex on a file flock(1) holds) stops neither a second session nor SIGTERM', async (ctx) => {
    requireOrSkip(ctx, 'flock');
    const { dir, cleanup } = tempDir();
    dirs.push(cleanup);
    const file = join(dir, 'locked');
    writeFileSync(file, '');
    const port = await freePort();
    const p = start(['-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, `OPEN:${file},flock-ex`], { env: WATCHDOG });
    await listening(p, port);
    await waitFor(() => p.errors().includes(WATCHING), 5000, 'the loop watchdog');
    // a first session while the file is free takes the lock at once (and loads the FFI), then ends
    const warmUp = client(port);
    await waitFor(() => count(p.errors(), 'starting data transfer loop') === 1, 5000, 'the warm-up session');
    warmUp.end();
    const holder = helper('flock', ['-x', file, 'sh', '-c', 'echo held; exec cat']);
    // flock(1) gets the lock once the warm-up session has closed the file
    await waitFor(() => holder.out().includes('held'), 5000, 'flock(1) holding the lock');
    client(port);
    await waitFor(() => count(p.errors(), 'opening regular file') === 2, 5000, 'a session waiting for the lock');
    client(port);
    await waitFor(() => count(p.errors(), 'opening regular file') === 3, 1000, `another session (log so far: ${p.errors()})`);
    p.kill('SIGTERM');
    expect(await exited(p, 1000)).toBe(143);
    // nothing more than the first, short session reached the transfer loop
    expect(count(p.errors(), 'starting data transfer loop')).toBe(1);
    expect(stallsAfter(p.errors(), 'starting data transfer loop')).toEqual([]);
  });

  it('the watchdog itself: a loop that computes for 400 ms of CPU is reported while held and with its length afterwards', async () => {
    // the busy loop is the stall under test, not a wait for an event; it counts CPU time, not wall time, since the
    // watchdog leaves out time the loop only waited for a CPU (on a loaded machine 400 ms of wall time may hold 80 ms
    // of work); bounded at 10 s of wall time; it prints how long it held the loop
    const script = `
      const { startLoopWatchdog } = await import(${JSON.stringify(join(ROOT, 'dist/src/cli/loop-watchdog.js'))});
      await startLoopWatchdog({ TSOCAT_LOOP_WATCHDOG: '100' });
      const t = Date.now();
      const c = process.cpuUsage();
      for (let u = c; u.user + u.system < 400000 && Date.now() - t < 10000; u = process.cpuUsage(c));
      process.stdout.write(String(Date.now() - t));
      setTimeout(() => {}, 100);`;
    const r = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect(r.stderr).toContain('W event loop stalled for more than 100 ms');
    const length = Number(/stalled for (\d+) ms/.exec(r.stderr)?.[1]);
    const held = Number(r.stdout.toString());
    expect(length).toBeGreaterThanOrEqual(300);
    // the length said is the loop's hold, give or take the watchdog's 20 ms ticks
    expect(length).toBeLessThanOrEqual(held + 100);
  });

  it('a loop blocked 400 ms in a wait (asleep, not computing) is reported as well: only time spent waiting for a CPU is left out', async () => {
    // Atomics.wait puts the main thread to sleep in the kernel, as a blocking system call would
    const script = `
      const { startLoopWatchdog } = await import(${JSON.stringify(join(ROOT, 'dist/src/cli/loop-watchdog.js'))});
      await startLoopWatchdog({ TSOCAT_LOOP_WATCHDOG: '100' });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
      setTimeout(() => {}, 100);`;
    const r = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect(r.stderr).toContain('W event loop stalled for more than 100 ms');
    expect(Number(/stalled for (\d+) ms/.exec(r.stderr)?.[1])).toBeGreaterThanOrEqual(300);
  });
});

describe('smaller differences, compared with socat', () => {
  /** Runs tsocat, then socat when there is one, with the same arguments; `each` sets the stage and reads the outcome. */
  async function bothWays<T>(ctx: TestContext, each: (cmd: string, prefix: string[]) => Promise<T>): Promise<{ tsocat: T; socat: T }> {
    const ours = await each(process.execPath, [TSOCAT]);
    requireOrSkip(ctx, 'socat');
    return { tsocat: ours, socat: await each(SOCAT as string, []) };
  }

  it("printf 'abc\\n' | tsocat - OPEN:fifo,wronly delivers abc and exits 0 (no read ENOTCONN), as socat", async (ctx) => {
    const { dir, cleanup } = tempDir();
    dirs.push(cleanup);
    const fifo = join(dir, 'fifo');
    const outcome = await bothWays(ctx, async (cmd, prefix) => {
      rmSync(fifo, { force: true });
      execFileSync('mkfifo', [fifo]);
      const reader = run('cat', [fifo]);
      const r = await run(cmd, [...prefix, '-', `OPEN:${fifo},wronly`], { input: 'abc\n' });
      return { status: r.status, stderr: r.stderr, delivered: (await reader).stdout.toString() };
    });
    expect(outcome.tsocat).toEqual({ status: 0, stderr: '', delivered: 'abc\n' });
    expect(outcome.tsocat).toEqual(outcome.socat);
  });

  it('a peer that resets the connection while tsocat reads: one W line, exit 0, as socat', async (ctx) => {
    // the server says hello, and resets the connection (SO_LINGER 0) when the client answers;
    // the client answers once hello is through, so the reset finds nothing unread and meets the next read
    const server = createServer((c) => {
      c.on('error', () => {});
      c.write('hello\n');
      c.once('data', () => c.resetAndDestroy());
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const outcome = await bothWays(ctx, async (cmd, prefix) => {
      const p = helper(cmd, [...prefix, '-d', '-d', '-', `TCP:127.0.0.1:${port}`]);
      let log = '';
      p.child.stderr?.on('data', (d: Buffer) => {
        log += d.toString();
      });
      await waitFor(() => p.out().includes('hello'), 5000, 'hello through the relay');
      // stdin stays open: the reset, not an end of input, ends the relay
      p.child.stdin?.write('go');
      const status = await exited(p.child, 5000);
      const levels = log.split('\n').filter((l) => / [EW] /.test(l)).map((l) => / ([EW]) ([a-z]+)\(/.exec(l)?.slice(1, 3).join(' '));
      return { status, levels };
    });
    expect(outcome.tsocat).toEqual({ status: 0, levels: ['W read'] });
    expect(outcome.tsocat).toEqual(outcome.socat);
  });

  it('a SOCKS4 server that stops mid-reply: connect-timeout=1 bounds the handshake (a difference: socat 1.7.4 waits)', async () => {
    // the server reads the request and sends 2 of the reply's 8 bytes, then nothing
    const server = createServer((c) => {
      c.on('error', () => {});
      c.once('data', () => c.write(Buffer.from([0, 0x5a])));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    // from the request's arrival, not from the start of the process, which a loaded machine slows
    let requested = 0;
    server.once('connection', (c) => c.once('data', () => (requested = Date.now())));
    const r = await run(process.execPath, [TSOCAT, '-', `SOCKS4:127.0.0.1:127.0.0.1:80,socksport=${port},connect-timeout=1`], { input: 'hi', timeoutMs: 10000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`socks server 127.0.0.1:${port}: reading socks4 reply: Connection timed out`);
    expect(requested).toBeGreaterThan(0);
    expect(Date.now() - requested).toBeLessThan(2000);
  });
});
