#!/usr/bin/env node
/**
 * Connection churn through a fork relay: does the relay's memory come back once
 * the load ends? (issue 17, "memory that comes back")
 *
 *   node scripts/churn.mjs                 # N=100000 connections, C=50 in flight
 *   node scripts/churn.mjs 20000 1         # N=20000, sequential
 *   node scripts/churn.mjs 20000 50 --variants tsocat,bare
 *   node scripts/churn.mjs 20000 50 --json
 *
 * Starts an echo server (this script again, as its own node process, on
 * 127.0.0.1) and, one after the other, each relay variant in front of it:
 *   tsocat         node bin/tsocat.js TCP-LISTEN:<p>,reuseaddr,fork TCP:127.0.0.1:<echo>
 *   tsocat-arena2  the same with env MALLOC_ARENA_MAX=2 (glibc arenas)
 *   tsocat-semi1   node --max-semi-space-size=1 bin/tsocat.js ... (V8 young generation)
 *   tsocat-old48   node --max-old-space-size=48 bin/tsocat.js ... (V8 old generation capped)
 *   bare           a bare Node net pipe() proxy (this script, as its own process)
 * drives N connections through it, C in flight, each sending 200–700 random
 * bytes and checking the echo byte for byte, and records the relay's VmRSS,
 * RssAnon, RssFile (/proc/<pid>/status) and open descriptors (/proc/<pid>/fd)
 * idle before, right after the load, and 5 s after the load; process.memoryUsage()
 * inside each relay (a -r preload writing it to a file every 250 ms); and, last,
 * the same after one forced full GC (node --expose-gc; the preload calls gc()),
 * and after glibc's malloc_trim(0) on top (called through koffi).
 *
 * Loopback only. Every loop is bounded by a count and a deadline; only the
 * processes started here are stopped, by pid, at the end and on error.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reservePort, waitListening } from '../bench/ports.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A preload (node -r) in each relay that writes process.memoryUsage() to a file
// every 250 ms (an unref'd timer): the JS heap against what lies outside it.
const IS_CHILD = process.argv[2] === '--echo' || process.argv[2] === '--bare';
const TMP = IS_CHILD ? '' : mkdtempSync(join(tmpdir(), 'tsocat-churn-'));
const PRELOAD = join(TMP, 'heap.cjs');
// On request it also runs one full gc() (node --expose-gc; when <file>.gc appears)
// and glibc's malloc_trim(0) (through koffi, a dependency; when <file>.trim appears).
const PRELOAD_TEXT = `
const f = process.env.CHURN_HEAP_FILE;
delete process.env.CHURN_HEAP_FILE;
if (f) {
  const fs = require('fs');
  let trim;
  const w = () => {
    try {
      if (globalThis.gc && fs.existsSync(f + '.gc')) { fs.unlinkSync(f + '.gc'); globalThis.gc(); }
      if (fs.existsSync(f + '.trim')) {
        fs.unlinkSync(f + '.trim');
        trim ??= require(${JSON.stringify(join(ROOT, 'node_modules', 'koffi'))}).load('libc.so.6').func('int malloc_trim(size_t pad)');
        trim(0);
      }
      fs.writeFileSync(f + '.tmp', JSON.stringify({ ...process.memoryUsage(), spaces: Object.fromEntries(require('v8').getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size])) }));
      fs.renameSync(f + '.tmp', f); // whole, never read half-written
    } catch {}
  };
  w();
  setInterval(w, 250).unref();
}
`;
if (!IS_CHILD) writeFileSync(PRELOAD, PRELOAD_TEXT);
function heapOf(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

const started = new Set();

/** Spawns a process; remembers it so that it is stopped (by pid) whatever happens. */
function start(cmd, args, env) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((r) => child.once('exit', r));
  const p = {
    child,
    out: () => out,
    err: () => err,
    exited,
    async stop() {
      started.delete(p);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
  started.add(p);
  return p;
}

async function stopAll() {
  await Promise.all([...started].map((p) => p.stop()));
}

/** A child of this script that prints its port on stdout once it listens. */
async function startSelf(roleArgs, env) {
  const p = start(process.execPath, ['--expose-gc', '-r', PRELOAD, SELF, ...roleArgs], env);
  const end = Date.now() + 10000;
  for (let i = 0; i < 2000 && Date.now() < end && !/\n/.test(p.out()); i++) {
    if (p.child.exitCode !== null) break;
    await sleep(5);
  }
  const port = Number(p.out().trim());
  if (!port) throw new Error(`${roleArgs[0]}: no port (${p.err().trim()})`);
  await waitListening(port);
  return { ...p, port };
}

function sample(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k) => Number(status.match(new RegExp(`${k}:\\s+(\\d+) kB`))?.[1] ?? Number.NaN);
  return {
    rss: kib('VmRSS'),
    anon: kib('RssAnon'),
    file: kib('RssFile'),
    hwm: kib('VmHWM'),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    threads: Number(status.match(/Threads:\s+(\d+)/)?.[1] ?? Number.NaN),
  };
}

/** One connection: send `len` random bytes, read them back, compare. Resolves 'ok' | 'mismatch' | 'error'. */
function exchange(port, timeoutMs = 10000) {
  return new Promise((resolve) => {
    const payload = randomBytes(200 + Math.floor(Math.random() * 500));
    const chunks = [];
    let got = 0;
    let done = false;
    const s = connect({ port, host: '127.0.0.1' });
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve(r);
    };
    const t = setTimeout(() => finish('error'), timeoutMs);
    s.on('error', () => finish('error'));
    s.on('connect', () => s.write(payload));
    s.on('data', (d) => {
      chunks.push(d);
      got += d.length;
      if (got >= payload.length) {
        const back = Buffer.concat(chunks);
        // the echo is complete: close our side cleanly, as a client would
        s.end();
        s.once('close', () => finish(back.length === payload.length && back.equals(payload) ? 'ok' : 'mismatch'));
      }
    });
    s.on('end', () => {
      if (got < payload.length) finish('mismatch');
    });
  });
}

async function drive(port, n, c, deadlineMs) {
  const counts = { ok: 0, mismatch: 0, error: 0 };
  let next = 0;
  const end = Date.now() + deadlineMs;
  const t0 = Date.now();
  const worker = async () => {
    while (next < n && Date.now() < end) {
      next++;
      counts[await exchange(port)]++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(c, n) }, worker));
  return { ...counts, secs: (Date.now() - t0) / 1000, cut: next < n };
}

const VARIANTS = {
  tsocat: { node: [], env: {} },
  'tsocat-arena2': { node: [], env: { MALLOC_ARENA_MAX: '2' } },
  'tsocat-semi1': { node: ['--max-semi-space-size=1'], env: {} },
  'tsocat-old48': { node: ['--max-old-space-size=48'], env: {} },
  bare: null,
};

async function runVariant(name, echoPort, n, c, deadlineMs) {
  const port = await reservePort();
  const heapFile = join(TMP, `${name}.json`);
  let relay;
  if (name === 'bare') {
    relay = await startSelf(['--bare', String(echoPort), String(port)], { CHURN_HEAP_FILE: heapFile });
  } else {
    const v = VARIANTS[name];
    relay = start(
      process.execPath,
      [...v.node, '--expose-gc', '-r', PRELOAD, join(ROOT, 'bin', 'tsocat.js'), `TCP-LISTEN:${port},reuseaddr,fork`, `TCP:127.0.0.1:${echoPort}`],
      { ...v.env, CHURN_HEAP_FILE: heapFile },
    );
    await waitListening(port);
  }
  try {
    await sleep(500); // idle is idle once start-up has settled (a fixed wait: nothing to wait for)
    const idle = { ...sample(relay.child.pid), heap: heapOf(heapFile) };
    const load = await drive(port, n, c, deadlineMs);
    const after = sample(relay.child.pid);
    await sleep(300); // the preload writes every 250 ms
    after.heap = heapOf(heapFile);
    await sleep(4700); // the measurement's point: what is left 5 s after the load
    const later = { ...sample(relay.child.pid), heap: heapOf(heapFile) };
    // then one full GC in the relay (the preload calls gc() when <file>.gc appears):
    // garbage not yet collected against memory still referenced or kept by the allocator
    writeFileSync(`${heapFile}.gc`, '');
    await sleep(1000);
    const gced = { ...sample(relay.child.pid), heap: heapOf(heapFile) };
    // and then glibc's malloc_trim(0): memory malloc has free but has not given back
    writeFileSync(`${heapFile}.trim`, '');
    await sleep(1000);
    const trimmed = { ...sample(relay.child.pid), heap: heapOf(heapFile) };
    return { name, idle, after, later, gced, trimmed, load, stderr: relay.err().slice(0, 500) };
  } finally {
    await relay.stop();
  }
}

function table(results, n, c) {
  const mb = (k) => (k / 1024).toFixed(1);
  const hp = (r, k) => [r.idle, r.after, r.later].map((s) => (s.heap ? (s.heap[k] / 1048576).toFixed(1) : '?')).join('/');
  const lines = [];
  lines.push(`N=${n} C=${c}`);
  lines.push(
    ['variant', 'ok/mism/err', 'secs', 'RSS idle', 'RSS after', 'RSS +5s', '+5s/idle', 'anon idle/after/+5s', 'file idle/+5s', 'HWM', 'fds idle/after/+5s', 'heapUsed i/a/+5s', 'heapTotal i/a/+5s', 'external+AB i/a/+5s', 'arrayBuffers i/a/+5s', 'new/old space +5s', 'RSS/anon/ext/AB after gc()', 'RSS/anon +trim']
      .map((h) => h.padEnd(12))
      .join(' '),
  );
  for (const r of results) {
    lines.push(
      [
        r.name,
        `${r.load.ok}/${r.load.mismatch}/${r.load.error}${r.load.cut ? ' CUT' : ''}`,
        r.load.secs.toFixed(1),
        mb(r.idle.rss),
        mb(r.after.rss),
        mb(r.later.rss),
        (r.later.rss / r.idle.rss).toFixed(2),
        `${mb(r.idle.anon)}/${mb(r.after.anon)}/${mb(r.later.anon)}`,
        `${mb(r.idle.file)}/${mb(r.later.file)}`,
        mb(r.later.hwm),
        `${r.idle.fds}/${r.after.fds}/${r.later.fds}`,
        hp(r, 'heapUsed'),
        hp(r, 'heapTotal'),
        hp(r, 'external'),
        hp(r, 'arrayBuffers'),
        r.later.heap?.spaces ? `${(r.later.heap.spaces.new_space / 1048576).toFixed(1)}/${(r.later.heap.spaces.old_space / 1048576).toFixed(1)}` : '?',
        `${mb(r.gced.rss)}/${mb(r.gced.anon)}/${[r.gced.heap?.external, r.gced.heap?.arrayBuffers].map((v) => (v === undefined ? '?' : (v / 1048576).toFixed(1))).join('/')}`,
        `${mb(r.trimmed.rss)}/${mb(r.trimmed.anon)}`,
      ]
        .map((x) => String(x).padEnd(12))
        .join(' '),
    );
  }
  // issue 17's bar: 5 s after the load within 2.5x of the same relay idle, below the bare proxy, descriptors as idle
  // (one more than idle is libuv's EMFILE reserve, /dev/null, opened with the process's first TCP handle)
  const bare = results.find((r) => r.name === 'bare');
  for (const r of results.filter((x) => x !== bare)) {
    const ratio = r.later.rss / r.idle.rss;
    const verdict = [
      `${r.name}: +5s/idle ${ratio.toFixed(2)} ${ratio <= 2.5 ? '<=' : '>'} 2.5`,
      bare ? `+5s ${mb(r.later.rss)} ${r.later.rss < bare.later.rss ? '<' : '>='} bare ${mb(bare.later.rss)}` : 'bare not run',
      `descriptors +5s ${r.later.fds} (idle ${r.idle.fds})`,
      `${r.load.mismatch + r.load.error === 0 && !r.load.cut ? 'every connection checked ok' : 'FAILED connections'}`,
    ];
    lines.push(verdict.join('; '));
  }
  lines.push('(MB = MiB from /proc/<pid>/status; fds = entries in /proc/<pid>/fd; heap*/external from process.memoryUsage() in the relay, MiB; external includes arrayBuffers; "after gc()" = +5s, then one full gc() in the relay and 1 s; "+trim" = then malloc_trim(0) and 1 s)');
  return lines.join('\n');
}

async function main() {
  const args = process.argv.slice(2);
  const pos = args.filter((a) => !a.startsWith('--') && !args[args.indexOf(a) - 1]?.startsWith('--variants'));
  const n = Number(pos[0] || 100000);
  const c = Number(pos[1] || 50);
  const vi = args.indexOf('--variants');
  const names = vi >= 0 ? args[vi + 1].split(',') : Object.keys(VARIANTS);
  for (const v of names) if (!(v in VARIANTS)) throw new Error(`unknown variant ${v} (${Object.keys(VARIANTS).join(', ')})`);
  const deadlineMs = Number(process.env.CHURN_DEADLINE_MS || 15 * 60 * 1000); // per variant's load
  const onSignal = () => stopAll().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results = [];
  try {
    const echo = await startSelf(['--echo']);
    for (const name of names) {
      const r = await runVariant(name, echo.port, n, c, deadlineMs);
      results.push(r);
      if (!args.includes('--json')) console.error(`${name}: done (${r.load.secs.toFixed(1)} s)`);
    }
  } finally {
    await stopAll();
    rmSync(TMP, { recursive: true, force: true });
  }
  if (args.includes('--json')) console.log(JSON.stringify({ n, c, results }, null, 2));
  else console.log(table(results, n, c));
}

// ---------------------------------------------------------------- child roles
const role = process.argv[2];
if (role === '--echo' || role === '--bare') {
  const server =
    role === '--echo'
      ? createServer((s) => {
          s.on('error', () => {});
          s.pipe(s);
        })
      : createServer((c) => {
          const u = connect({ port: Number(process.argv[3]), host: '127.0.0.1' });
          c.on('error', () => u.destroy());
          u.on('error', () => c.destroy());
          c.pipe(u);
          u.pipe(c);
        });
  server.listen(Number(process.argv[4] || 0), '127.0.0.1', () => {
    process.stdout.write(`${server.address().port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
} else {
  await main();
}
