/**
 * Processes the bench starts: a relay it can stop by pid (and only it), its
 * CPU time, and waiting for a UNIX listener by reading the kernel's table (no
 * probe connection).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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
    peakRssKiB: () => procKiB(child.pid, 'status', 'VmHWM'),
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

/** `pid` and all its descendants, read from /proc/PID/task/TID/children (a process gone meanwhile is left out). */
export function processTree(pid) {
  const seen = [];
  const queue = [pid];
  for (let i = 0; i < queue.length && i < 1_000_000; i++) {
    const p = queue[i];
    let tasks;
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    seen.push(p);
    for (const task of tasks) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim().split(/\s+/)) if (c) queue.push(Number(c));
      } catch {
        // the thread is gone
      }
    }
  }
  return seen;
}

/** A /proc/PID/status or smaps_rollup field in KiB (NaN once the process is gone). */
export function procKiB(pid, file, field) {
  try {
    const m = readFileSync(`/proc/${pid}/${file}`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The proportional set size of `pid` and all its descendants, summed (KiB): shared pages counted once over the tree. */
export function treePssKiB(pid) {
  return processTree(pid).reduce((sum, p) => sum + (procKiB(p, 'smaps_rollup', 'Pss') || 0), 0);
}
