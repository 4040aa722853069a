/**
 * The --workers rows of `npm run bench`: a fork relay (TCP-LISTEN,fork → TCP)
 * under 8 parallel bulk streams and under 20 concurrent connection churners,
 * through socat, tsocat, and tsocat --workers 2. The load is C in processes of
 * its own (load.c, compiled here with gcc): senders, a sink, churners, an echo
 * server. Each round runs every variant once, in a new random order; medians.
 * Loopback only; the processes started here are stopped by pid.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { endOf } from '../cc.mjs';
import { reservePort, waitListening } from '../ports.mjs';
import { startRelay } from '../procs.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const STREAMS = 8;
const CHURNERS = 20;
/** Exchanges before a churn measurement starts, not counted. */
const WARM_CONNS = 200;

function compileLoad(dir) {
  const gcc = spawnSync('sh', ['-c', 'command -v gcc'], { encoding: 'utf8' }).stdout.trim();
  if (!gcc) return { skipped: 'gcc not found (the load is compiled from bench/workers/load.c)' };
  const out = join(dir, 'load');
  const r = spawnSync(gcc, ['-O2', '-o', out, join(HERE, 'load.c')], { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) return { skipped: `gcc could not compile bench/workers/load.c: ${r.stderr.trim().split('\n')[0]}` };
  return { load: out };
}

/** Runs `load` to its end (bounded); its stdout's first number. */
function runLoad(load, args, ms) {
  return new Promise((resolve, reject) => {
    const child = spawn(load, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    // its printed figure can still be in the pipe at 'exit'
    void endOf(child).then(([code]) => {
      clearTimeout(t);
      if (code === 0) resolve(Number(out.trim()));
      else reject(new Error(`load ${args[0]} failed (${code}): ${err.trim()}`));
    });
  });
}

/** A server of `load` (echo or sink) with `procs` processes; stop() ends it by its pid (its helpers follow it). */
function loadServer(load, kind, port, procs) {
  const child = spawn(load, [kind, String(port), String(procs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`load ${kind} ended (${code})`)));
  });
  return { ready, stop: () => child.kill('SIGTERM') };
}

/** One measurement: the relay `argv` between the load and `target`; `measure(port)` gives the figure. */
async function once(argv, measure, warmUp) {
  const port = await reservePort();
  const relay = startRelay([...argv.slice(0, -1), `TCP-LISTEN:${port},reuseaddr,fork`, argv.at(-1)]);
  try {
    await waitListening(port);
    // every variant warms up alike (and a team's workers, which start after the parent listens, are up)
    await warmUp(port);
    return await measure(port);
  } finally {
    await relay.stop();
  }
}

/**
 * Rows for `variants` ({ label, argv: [...command, address 2 placeholder] }):
 * aggregate MB/s of 8 streams of `mb`/8 MB each, and connections per second of
 * `conns` exchanges by 20 churners; `runs` rounds.
 */
export async function workersRows({ tsocat, socat, mb, conns, runs }) {
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-bench-workers-'));
  try {
    const compiled = compileLoad(dir);
    if (compiled.skipped) return { skipped: compiled.skipped };
    const { load } = compiled;
    const sinkPort = await reservePort();
    const echoPort = await reservePort();
    const sink = loadServer(load, 'sink', sinkPort, STREAMS + 2);
    const echo = loadServer(load, 'echo', echoPort, 4);
    try {
      await Promise.all([sink.ready, echo.ready]);
      const variants = [
        { label: 'socat', command: [socat] },
        { label: 'tsocat', command: tsocat },
        { label: 'tsocat --workers 2', command: [...tsocat, '--workers', '2'] },
      ];
      const streams = Object.fromEntries(variants.map((v) => [v.label, []]));
      const churn = Object.fromEntries(variants.map((v) => [v.label, []]));
      const bytes = Math.floor((mb * 1024 * 1024) / STREAMS);
      for (let round = 0; round < runs; round++) {
        for (const v of [...variants].sort(() => Math.random() - 0.5)) {
          const warmSend = (port) => runLoad(load, ['send', String(port), String(1024 * 1024), String(STREAMS)], 30000);
          const secs = await once([...v.command, `TCP:127.0.0.1:${sinkPort}`], (port) => runLoad(load, ['send', String(port), String(bytes), String(STREAMS)], 120000), warmSend);
          streams[v.label].push((bytes * STREAMS) / 1024 / 1024 / secs);
          const warmChurn = (port) => runLoad(load, ['churn', String(port), String(WARM_CONNS), String(CHURNERS)], 30000);
          const csecs = await once([...v.command, `TCP:127.0.0.1:${echoPort}`], (port) => runLoad(load, ['churn', String(port), String(conns), String(CHURNERS)], 120000), warmChurn);
          churn[v.label].push(conns / csecs);
        }
      }
      return {
        rows: [
          { name: `${STREAMS} parallel streams (${mb} MB in all, C senders → fork relay → C sink)`, unit: 'MB/s', by: Object.fromEntries(variants.map((v) => [v.label, median(streams[v.label])])) },
          { name: `${CHURNERS} concurrent churners (${conns} conns, 16 B echoed, C clients → fork relay → C echo)`, unit: 'conn/s', by: Object.fromEntries(variants.map((v) => [v.label, median(churn[v.label])])) },
        ],
        raw: { streams, churn },
      };
    } finally {
      sink.stop();
      echo.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The fork group's rows: connections per second through `TCP-LISTEN,fork → C echo`
 * for socat and tsocat, one row per case ({ parallel: C churners at once, warm:
 * exchanges through the fresh relay before the `conns` counted }), and the
 * churners straight against the echo (no relay) as the reference that shows the
 * load is not the limit; `runs` rounds, each in a new random order; medians.
 */
export async function churnRateRows({ tsocat, socat, conns, runs, cases }) {
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-bench-churn-'));
  try {
    const compiled = compileLoad(dir);
    if (compiled.skipped) return { skipped: compiled.skipped };
    const { load } = compiled;
    const echoPort = await reservePort();
    const echo = loadServer(load, 'echo', echoPort, 4);
    try {
      await echo.ready;
      const variants = [
        { label: 'socat', command: [socat] },
        { label: 'tsocat', command: tsocat },
      ];
      const rows = [];
      for (const { parallel, warm } of cases) {
        const rates = { socat: [], tsocat: [], direct: [] };
        const churn = (port, n) => runLoad(load, ['churn', String(port), String(n), String(parallel)], 300000);
        for (let round = 0; round < runs; round++) {
          rates.direct.push(conns / (await churn(echoPort, conns)));
          for (const v of [...variants].sort(() => Math.random() - 0.5)) {
            const secs = await once([...v.command, `TCP:127.0.0.1:${echoPort}`], (port) => churn(port, conns), (port) => churn(port, warm));
            rates[v.label].push(conns / secs);
          }
        }
        rows.push({ parallel, warm, by: { socat: median(rates.socat), tsocat: median(rates.tsocat), direct: median(rates.direct) }, raw: rates });
      }
      return { rows };
    } finally {
      echo.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
