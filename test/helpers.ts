/**
 * Shared test plumbing: run tsocat (or socat) as a real process, find free
 * loopback ports, wait for listeners, make temp dirs. Every wait is bounded.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, type TestContext } from 'vitest';

export const ROOT = resolve(import.meta.dirname, '..');
export const TSOCAT = join(ROOT, 'bin', 'tsocat.js');

export const SOCAT: string | undefined = (() => {
  const r = spawnSync('sh', ['-c', 'command -v socat'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
})();

/**
 * A socat 1.8 build, for the comparisons Debian's 1.7.4 cannot make (options and
 * addresses that came with 1.8): $SOCAT_18, else /tmp/socat-build/socat, as
 * docs/testing.md builds it. CI has only Debian's socat, so these comparisons
 * skip there with their reason (socat18OrSkip), on every code path.
 */
export const SOCAT_18: string | undefined = [process.env.SOCAT_18, '/tmp/socat-build/socat'].find((path): path is string => !!path && existsSync(path));

/** The socat 1.8 build's path, or a skip saying why the comparison needs it. Takes the test's context: in a table, use `.for`, which passes it. */
export function socat18OrSkip(ctx: TestContext, why: string): string {
  if (SOCAT_18) return SOCAT_18;
  return skipBecause(ctx, `no socat 1.8 build (SOCAT_18 unset, /tmp/socat-build/socat absent; docs/testing.md says how to make one): ${why}`);
}

/**
 * Every wait below ends before the running test's own vitest timeout (its
 * deadline is set by test/setup.ts), so a slow machine shows the wait's message
 * — what was awaited, what came so far — instead of vitest's bare "Test timed
 * out". Outside a test (or with no deadline) the bound asked for stands.
 */
const DEADLINE_MARGIN_MS = 1000;
export function withinTest(ms: number): number {
  const deadline = (globalThis as { tsocatTestDeadline?: number }).tsocatTestDeadline;
  if (deadline === undefined) return ms;
  return Math.max(100, Math.min(ms, deadline - Date.now() - DEADLINE_MARGIN_MS));
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** True when the process was still running at `timeoutMs` and was killed (only seen with `expectKill`). */
  killedAtTimeout: boolean;
}

export interface RunOptions {
  input?: string | Buffer;
  /** The process is killed (SIGKILL) when still running after this long; default 15 s. */
  timeoutMs?: number;
  /**
   * The test expects the process to outlive `timeoutMs` and be killed there.
   * Without it a kill at the timeout rejects: a hang must never pass as an ordinary end.
   */
  expectKill?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Keep stdin open after `input` until stdout holds this text, then end it.
   * For peers that may close the whole connection on the client's half-close
   * (tinyproxy, microsocks, danted): the answer is in before tsocat's FIN goes.
   */
  endInputAfter?: string;
}

/** Runs a command to completion with input on stdin; a run killed at `timeoutMs` rejects (unless `expectKill`). */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = withinTest(opts.timeoutMs ?? 15000);
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    let killedAtTimeout = false;
    let holdingInput = opts.endInputAfter !== undefined;
    child.stdout.on('data', (d: Buffer) => {
      out.push(d);
      if (holdingInput && Buffer.concat(out).includes(opts.endInputAfter as string)) {
        holdingInput = false;
        child.stdin.end();
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => {
      killedAtTimeout = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const result = { status, signal, stdout: Buffer.concat(out), stderr: err, killedAtTimeout };
      if (killedAtTimeout && !opts.expectKill) {
        const shown = [cmd, ...args].map((a) => (a === process.execPath ? 'node' : a)).join(' ');
        rejectRun(new Error(`still running after ${timeoutMs} ms, killed: ${shown}\nstdout so far: ${JSON.stringify(result.stdout.toString())}\nstderr so far: ${JSON.stringify(err)}`));
      } else resolveRun(result);
    });
    child.stdin.on('error', () => {});
    if (holdingInput) child.stdin.write(opts.input ?? '');
    else if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Runs tsocat with the given arguments. */
export function tsocat(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [TSOCAT, ...args], opts);
}

/** Starts tsocat in the background; the caller stops it with stop(). */
export interface StartOptions {
  cwd?: string;
  /** RLIMIT_NOFILE (soft and hard) for the process, through prlimit(1), which execs it: the pid is still tsocat's. */
  descriptorLimit?: number;
  /** Where the process's stdout goes: a descriptor (a file the test opened), else a pipe read into output(). */
  stdout?: number;
  env?: NodeJS.ProcessEnv;
  /** Hand the process a pipe as its descriptor 3 too (the parent writes to child.stdio[3]). */
  pipeAsFd3?: boolean;
}

export function startTsocat(args: string[], opts: StartOptions = {}): ChildProcess & { output: () => string; errors: () => string } {
  const command = opts.descriptorLimit === undefined ? [process.execPath, TSOCAT, ...args] : ['prlimit', `--nofile=${opts.descriptorLimit}:${opts.descriptorLimit}`, process.execPath, TSOCAT, ...args];
  const child = spawn(command[0] as string, command.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['pipe', opts.stdout ?? 'pipe', 'pipe', ...(opts.pipeAsFd3 ? ['pipe' as const] : [])] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return Object.assign(child, { output: () => out, errors: () => err });
}

/** Stops a process we started, by its pid, and waits for it to go. */
export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  return new Promise((resolveStop) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveStop(child.exitCode);
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolveStop(code);
    });
    child.kill(signal);
  });
}

/** The inodes of the UDP (and UDP-Lite) sockets whose local port is `port`, any address, read from /proc (nothing is sent). */
function udpInodes(port: number): Set<string> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const table of ['/proc/net/udp', '/proc/net/udp6', '/proc/net/udplite', '/proc/net/udplite6']) {
    try {
      for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f[1]?.endsWith(hex) && f[9] !== undefined) inodes.add(f[9]);
      }
    } catch {
      // table absent on this kernel
    }
  }
  return inodes;
}

/** True when some UDP socket (of any address) is bound to the port, read from /proc (nothing is sent). */
export function udpBound(port: number): boolean {
  return udpInodes(port).size > 0;
}

/**
 * True when the process `pid` itself holds a UDP socket bound to `port`: a port
 * a test picked and let go can meanwhile be another test's ephemeral port, so
 * "someone is bound" does not say the relay is.
 */
export function udpBoundBy(pid: number | undefined, port: number): boolean {
  const inodes = udpInodes(port);
  if (pid === undefined || inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false; // the process is gone
  }
  return fds.some((fd) => {
    try {
      return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? '');
    } catch {
      return false; // closed meanwhile
    }
  });
}

/**
 * `n` clients of 127.0.0.1:`port`, connected one after another (so the
 * kernel's backlog holds them in this order); each also goes into `track`, for
 * the caller's cleanup. Rejects if one closes before it connected.
 */
export async function connectPeers(port: number, n: number, track: Socket[], allowHalfOpen = false): Promise<Socket[]> {
  const made: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen });
    s.on('error', () => {});
    track.push(s);
    made.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('close', () => reject(new Error(`peer ${i} closed before it connected`)));
    });
  }
  return made;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** True when a TCP socket is in LISTEN state on the port, read from /proc like ss does (no connection is made). */
export function isListening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f[1]?.endsWith(`:${hex}`) && f[3] === '0A') return true;
      }
    } catch {
      // no IPv6 table on this machine
    }
  }
  return false;
}

/**
 * Polls until a listener is up on the port (at most `timeoutMs`). It never
 * connects: a listener without fork would take the probe as its one peer.
 */
/**
 * A UNIX stream socket at `path` is listening (/proc/net/unix: flag
 * __SO_ACCEPTCON), not only bound: its file appears at bind(), a moment
 * before listen(), and a connect in between is refused.
 */
export function isUnixListening(path: string): boolean {
  return readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .some((line) => {
      const f = line.trim().split(/\s+/);
      return f[7] === path && (Number.parseInt(f[3] ?? '0', 16) & 0x10000) !== 0;
    });
}

export async function waitForPort(port: number, asked = 5000): Promise<void> {
  const timeoutMs = withinTest(asked);
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    if (isListening(port)) return;
    await sleep(10);
  }
  throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` every 20 ms for at most `timeoutMs`; `what` names it in the failure. */
export async function waitFor(cond: () => boolean, asked = 5000, what: string | (() => string) = 'condition'): Promise<void> {
  const timeoutMs = withinTest(asked);
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    // a function describes the state at the deadline, not at the call
    if (Date.now() > deadline) throw new Error(`${typeof what === 'function' ? what() : what} not met in time (${timeoutMs} ms)`);
    await sleep(20);
  }
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Registers an afterEach that removes every directory the returned function made during the test. */
export function scratchDirs(): () => string {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  return () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    return dir;
  };
}

/** tcpExchange's rejection when the peer neither closed nor failed in time: a hang, not an answer. */
export class NoCloseInTime extends Error {
  constructor(
    readonly timeoutMs: number,
    /** What arrived before the timeout. */
    readonly received: Buffer,
  ) {
    super(`the peer did not close within ${timeoutMs} ms (received so far: ${JSON.stringify(received.toString())})`);
  }
}

/**
 * Sends `data` over TCP, half-closes, and collects everything until the peer
 * closes. A peer that has not closed after `timeoutMs` rejects with NoCloseInTime.
 */
export function tcpExchange(port: number, data: string | Buffer, opts: { timeoutMs?: number; halfClose?: boolean } = {}): Promise<Buffer> {
  const timeoutMs = withinTest(opts.timeoutMs ?? 5000);
  return new Promise((resolveEx, reject) => {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      reject(new NoCloseInTime(timeoutMs, Buffer.concat(chunks)));
    }, timeoutMs);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.on('end', () => {
      clearTimeout(t);
      s.end();
      resolveEx(Buffer.concat(chunks));
    });
    s.write(data);
    if (opts.halfClose !== false) s.end();
  });
}

/** Waits for a process we started to end by itself; its exit status, or a rejection after `timeoutMs`. */
export function exited(child: ChildProcess, asked = 5000): Promise<number | null> {
  const timeoutMs = withinTest(asked);
  return new Promise((resolveExit, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveExit(child.exitCode);
    const t = setTimeout(() => reject(new Error(`process ${child.pid} still running after ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolveExit(code);
    });
  });
}

/*
 * Skips that speak. A test that cannot run here says why in the run's output
 * (vitest's default reporter shows a test's console output, and the note of
 * ctx.skip() where it lists the test). With CI set, a missing tool or
 * privilege that CI is meant to have fails the test instead: CI must run it.
 */

/** True under CI (CI=true, CI=1, ...): what CI is meant to have is required, not optional. */
export const STRICT = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false' && process.env.CI !== '0';

const HAVE_SCRIPT = spawnSync('sh', ['-c', 'command -v script && command -v stty && command -v timeout'], { encoding: 'utf8' }).status === 0;

/** A python3 that has pyserial: Debian's (python3-serial), or the first on PATH. */
export const PYTHON_WITH_SERIAL: string | undefined = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import serial'], { encoding: 'utf8' }).status === 0);

function haveCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
}

/** What some tests need from the machine, and why it may be missing. */
const NEEDS = {
  tun: () =>
    existsSync('/dev/net/tun') && haveCommand('ip') ? undefined : 'no /dev/net/tun or no ip(8) (iproute2) on this machine (the TUN tests make interfaces in a namespace of their own)',
  socat: () => (SOCAT ? undefined : 'socat is not on PATH (the comparison needs the real one)'),
  script: () => (HAVE_SCRIPT ? undefined : 'script(1) or stty is not on PATH (the test needs a pseudo-terminal)'),
  root: () => (process.getuid?.() === 0 ? undefined : `not running as root (uid ${process.getuid?.()}): changing owners, users and binding low ports need it`),
  flock: () => (haveCommand('flock') ? undefined : 'flock(1) (util-linux) is not on PATH (the test holds a lock from a second process)'),
  lsattr: () => (haveCommand('lsattr') ? undefined : 'lsattr (e2fsprogs) is not on PATH (the test reads inode flags)'),
  socketActivate: () => (haveCommand('systemd-socket-activate') ? undefined : 'systemd-socket-activate (systemd) is not on PATH (the test hands tsocat a listening socket as systemd does)'),
  tmux: () => (haveCommand('tmux') ? undefined : 'tmux is not on PATH (the test drives an interactive terminal)'),
  pyserial: () => (PYTHON_WITH_SERIAL ? undefined : "python3's serial module (Debian python3-serial) is missing (the test needs a serial peer no one here wrote)"),
  nobody: () =>
    /^nobody:x:65534:/m.test(readFileSync('/etc/passwd', 'utf8')) && /^nogroup:x:65534:/m.test(readFileSync('/etc/group', 'utf8'))
      ? undefined
      : 'no user nobody (65534) and group nogroup (65534) on this machine',
  openssl: () => (haveCommand('openssl') ? undefined : 'openssl (the command) is not on PATH (the TLS tests make certificates and use s_client/s_server)'),
  chromium: () => (haveCommand('chromium') ? undefined : "chromium is not on PATH (Debian's chromium is the browser end of the WebSocket test)"),
  curl: () => (haveCommand('curl') ? undefined : 'curl is not on PATH (a real HTTP client through the TLS tunnel)'),
  haproxy: () => (haveCommand('haproxy') ? undefined : 'haproxy is not on PATH (the reference implementation of the PROXY protocol, at the other end)'),
  tinyproxy: () => (haveCommand('tinyproxy') ? undefined : 'tinyproxy is not on PATH (the real HTTP proxy of the PROXY tests)'),
  danted: () => (haveCommand('danted') ? undefined : 'danted (dante-server) is not on PATH (the real SOCKS4/SOCKS5 server of the SOCKS tests)'),
  microsocks: () => (haveCommand('microsocks') ? undefined : 'microsocks is not on PATH (the real SOCKS5 server with username/password of the SOCKS tests)'),
  socksPerl: () =>
    spawnSync('perl', ['-MIO::Socket::Socks', '-e', '1']).status === 0 ? undefined : "perl's IO::Socket::Socks (libio-socket-socks-perl) is missing (the SOCKS4A server of the SOCKS tests)",
} as const;

export type Need = keyof typeof NEEDS;

/** Skips the running test with `reason`, printed where the default reporter shows it. */
export function skipBecause(ctx: TestContext, reason: string): never {
  console.warn(`skipped: ${reason}`);
  return ctx.skip(reason);
}

/** Skips the running test when a need is missing (under CI: fails it instead). */
export function requireOrSkip(ctx: TestContext, ...needs: Need[]): void {
  for (const need of needs) {
    const missing = NEEDS[need]();
    if (missing === undefined) continue;
    if (STRICT) throw new Error(`CI must run this test, but ${missing}`);
    skipBecause(ctx, missing);
  }
}

/** In a describe(): every test in it needs these (skipped with the reason when missing; under CI, failed). */
export function requires(...needs: Need[]): void {
  beforeEach((ctx) => requireOrSkip(ctx, ...needs));
}

/**
 * For a test file: a starter for background tsocat processes, each stopped
 * (by its pid) after the test that started it.
 */
export function backgroundStarter(): (args: string[], opts?: StartOptions) => ReturnType<typeof startTsocat> {
  const started: Array<ReturnType<typeof startTsocat>> = [];
  afterEach(async () => {
    for (const p of started.splice(0)) await stop(p);
  });
  return (args, opts) => {
    const p = startTsocat(args, opts);
    started.push(p);
    return p;
  };
}
