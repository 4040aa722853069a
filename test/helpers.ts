/**
 * Shared test plumbing: run tsocat (or socat) as a real process, find free
 * loopback ports, wait for listeners, make temp dirs. Every wait is bounded.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach } from 'vitest';

export const ROOT = resolve(import.meta.dirname, '..');
export const TSOCAT = join(ROOT, 'bin', 'tsocat.js');

export const SOCAT: string | undefined = (() => {
  const r = spawnSync('sh', ['-c', 'command -v socat'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
})();

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command to completion with input on stdin; killed after `timeoutMs`. */
export function run(cmd: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15000);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolveRun({ status, signal, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.on('error', () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Runs tsocat with the given arguments. */
export function tsocat(args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  return run(process.execPath, [TSOCAT, ...args], opts);
}

/** Starts tsocat in the background; the caller stops it with stop(). */
export function startTsocat(args: string[], opts: { cwd?: string } = {}): ChildProcess & { output: () => string; errors: () => string } {
  const child = spawn(process.execPath, [TSOCAT, ...args], { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
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
export async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
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

/** Polls `cond` every 20 ms for at most `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Sends `data` over TCP, half-closes, and collects everything until the peer closes. */
export function tcpExchange(port: number, data: string | Buffer, opts: { timeoutMs?: number; halfClose?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolveEx, reject) => {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      resolveEx(Buffer.concat(chunks));
    }, opts.timeoutMs ?? 5000);
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

/**
 * For a test file: a starter for background tsocat processes, each stopped
 * (by its pid) after the test that started it.
 */
export function backgroundStarter(): (args: string[]) => ReturnType<typeof startTsocat> {
  const started: Array<ReturnType<typeof startTsocat>> = [];
  afterEach(async () => {
    for (const p of started.splice(0)) await stop(p);
  });
  return (args) => {
    const p = startTsocat(args);
    started.push(p);
    return p;
  };
}
