/** Pseudo-terminal helpers for the PTY, SERIAL, EXEC…,pty and READLINE tests. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PYTHON_WITH_SERIAL, ROOT, sleep, waitFor } from './helpers.js';

/** `stty -a` of a terminal device (a pty's slave or a link to it). */
export function sttyOf(path: string): string {
  const r = spawnSync('stty', ['-F', path, '-a'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`stty -F ${path}: ${r.stderr}`);
  return r.stdout;
}

/** The flags of `stty -a` text, each as stty prints it (`echo` or `-echo`). */
export const flagsOf = (text: string): Set<string> => new Set(text.split(/[\s;]+/));

/** Waits until `path` exists (a PTY's link): the address is open. */
export function waitForPath(path: string, timeoutMs = 5000): Promise<void> {
  return waitFor(() => existsSync(path), timeoutMs);
}

/** A pty pair the test holds itself (node-pty's openpty), for GOPEN and SERIAL to open. */
export function testPty(): { master: number; slave: number; path: string } {
  const require = createRequire(`${ROOT}/package.json`);
  const native = require(`@lydell/node-pty-${process.platform}-${process.arch}/pty.node`) as { open(c: number, r: number): { master: number; slave: number; pty: string } };
  const t = native.open(0, 0);
  return { master: t.master, slave: t.slave, path: t.pty };
}

/** A pty pair held by python, which echoes whatever reaches the master: a serial device that answers. */
export async function echoingPty(): Promise<{ device: string; child: ChildProcess }> {
  const py = PYTHON_WITH_SERIAL ?? 'python3';
  const script = [
    'import os, pty, sys, tty',
    'm, s = pty.openpty()',
    'tty.setraw(s)',
    'print(os.ttyname(s), flush=True)',
    'while True:',
    '    d = os.read(m, 4096)',
    '    if not d: break',
    '    os.write(m, d)',
  ].join('\n');
  const child = spawn(py, ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { device: await firstLine(child, 'python pty'), child };
}

/** The first line a child prints, whole (under load it may arrive in more than one chunk); rejects if the child exits first. */
export function firstLine(child: ChildProcess, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(text.split('\n')[0]?.trim() ?? '');
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  });
}

/** One tmux server per test, on its own socket; every command waits on what the pane shows. */
export class Tmux {
  private readonly socket = `tsocat-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  constructor(command: string, size = { cols: 100, rows: 30 }) {
    const r = spawnSync('tmux', ['-L', this.socket, '-f', '/dev/null', 'new-session', '-d', '-x', String(size.cols), '-y', String(size.rows), command], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux: ${r.stderr}`);
  }
  keys(...keys: string[]): void {
    spawnSync('tmux', ['-L', this.socket, 'send-keys', ...keys]);
  }
  screen(): string {
    return spawnSync('tmux', ['-L', this.socket, 'capture-pane', '-p'], { encoding: 'utf8' }).stdout;
  }
  /** Waits until the pane shows `pattern`; fails with the pane's text. */
  async waitFor(pattern: RegExp, timeoutMs = 8000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.screen();
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${pattern}:\n${text}`);
      await sleep(50);
    }
  }
  /** Ends the tmux server and every process in it (they are ours: this socket's only). */
  close(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}
