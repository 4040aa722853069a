/**
 * Processes the bench starts: a relay it can stop by pid (and only it), its
 * CPU time, and waiting for a UNIX listener by reading the kernel's table (no
 * probe connection).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Clock ticks per second, the unit of /proc/PID/stat's CPU fields. */
export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** utime + stime + cutime + cstime of `pid`, in seconds: its own CPU and that of the children it has reaped (socat's per-peer processes). */
export function processCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields.slice(11, 15).reduce((a, x) => a + Number(x), 0) / CLK_TCK;
}

/** Starts `argv` (with `env` added to, or for an undefined value removed from, this environment); stop() waits for it to go. */
export function startRelay(argv, env = {}) {
  const [cmd, ...args] = argv;
  const childEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: childEnv });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    child,
    stderr: () => stderr,
    exited,
    peakRssKiB() {
      try {
        const m = readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
        return m ? Number(m[1]) : Number.NaN;
      } catch {
        return Number.NaN;
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Waits (bounded in count and time) until a UNIX socket at `path` listens (read from /proc/net/unix). */
export async function waitUnixListening(path, ms = 10000) {
  const end = Date.now() + ms;
  for (let i = 0; i < 2000 && Date.now() < end; i++) {
    const lines = readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1);
    // Flags 00010000: __SO_ACCEPTCON, the socket listens
    if (lines.some((l) => l.endsWith(` ${path}`) && l.trim().split(/\s+/)[3] === '00010000')) return;
    await sleep(5);
  }
  throw new Error(`nothing listens on ${path}`);
}
