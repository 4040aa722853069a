/**
 * The bench's C load generators, compiled with gcc at run time into a
 * temporary directory; a row group whose generator cannot be built is skipped
 * with the reason, never run with something else in its place.
 */
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Compiles `source` (a .c path) into `dir`/`name`; returns { bin }, or { skipped } saying why not. */
export function compileC(source, dir, name) {
  const shown = relative(ROOT, source);
  const gcc = spawnSync('sh', ['-c', 'command -v gcc'], { encoding: 'utf8' }).stdout.trim();
  if (!gcc) return { skipped: `gcc not found (the C load generator is compiled from ${shown})` };
  const bin = join(dir, name);
  const r = spawnSync(gcc, ['-O2', '-o', bin, source], { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) return { skipped: `gcc could not compile ${shown}: ${(r.stderr || String(r.error ?? r.signal)).trim().split('\n')[0]}` };
  return { bin };
}

/**
 * Settles with [code, signal] once the child has exited and its output pipes are read to the end
 * ('close'): at 'exit' the last line (a C program's result) can still be in the pipe. A pipe a
 * grandchild still holds is not waited for longer than a second after the exit.
 */
export function endOf(child) {
  return new Promise((resolve) => {
    let timer;
    child.once('exit', (code, signal) => {
      timer = setTimeout(() => resolve([code, signal]), 1000);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve([code, signal]);
    });
  });
}

/**
 * Starts a compiled generator (`argv`, optionally through `wrap`, e.g. a raised descriptor limit).
 * `firstLine` resolves with its first stdout line (rejects if it exits first); `done` with its
 * exit code and output; stop() closes its stdin (the generators' signal to exit) and kills it by
 * pid if it is still there after 3 s.
 */
export function runC(argv, wrap = []) {
  const [cmd, ...args] = [...wrap, ...argv];
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onLine;
  const firstLine = new Promise((resolve) => (onLine = resolve));
  child.stdout.on('data', (d) => {
    out += d;
    if (out.includes('\n')) onLine(out.slice(0, out.indexOf('\n')));
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  child.stdin.on('error', () => {});
  const done = endOf(child).then(([code, signal]) => ({ code: code ?? signal, out, err: err.trim() }));
  return {
    child,
    done,
    firstLine: Promise.race([firstLine, done.then((r) => Promise.reject(new Error(`${argv[0]} exited (${r.code}) before it was ready: ${r.err || '(no message)'}`)))]),
    async stop() {
      child.stdin.end();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await done;
      clearTimeout(t);
    },
  };
}

/** Rejects if `promise` takes longer than `ms` (calling `onTimeout` first): no measurement may hang the bench. */
export function within(promise, ms, what, onTimeout = () => {}) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      t = setTimeout(() => {
        onTimeout();
        reject(new Error(`${what}: no result within ${ms} ms`));
      }, ms);
    }),
  ]).finally(() => clearTimeout(t));
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A copy of `xs` in a uniformly random order (Fisher–Yates): each round runs its rows in a new order. */
export function shuffled(xs) {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
