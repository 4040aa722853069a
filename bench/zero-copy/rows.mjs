/**
 * The zero-copy rows of `npm run bench`: TCP-LISTEN → TCP and UNIX-LISTEN → TCP
 * fork relays driven by a C sender and a C sink (blast.c, compiled here with gcc
 * into a temporary directory), separate processes, so the bench's own Node
 * process is not the load generator. Rows: tsocat (the zero-copy path, its
 * default), tsocat with TSOCAT_SPLICE=off (the buffered path), socat, socat -b
 * 65536, and the sender straight into the sink with no relay (the reference).
 * Each round runs every row once, in a new random order; medians over the
 * rounds. Per row: MB/s (bytes over the sink's time from first byte to end of
 * file), the relay's CPU seconds per GB (utime + stime of the relay and its
 * reaped children, from /proc/PID/stat), and the sender's and sink's own CPU
 * per GB (getrusage), to show the generator is not what limits a row.
 *
 * Loopback only; every wait is bounded by a count and a deadline; the relays,
 * senders and sinks started here are the only processes stopped, by pid.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC, endOf, median, shuffled, within } from '../cc.mjs';
import { reservePort, waitListening } from '../ports.mjs';
import { CLK_TCK, processCpu, startRelay, treePssKiB, waitUnixListening } from '../procs.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) until `pid` has no child left, so a forked child's CPU is in cutime/cstime. */
export async function childrenReaped(pid, ms = 5000) {
  const end = Date.now() + ms;
  for (let i = 0; i < 1000 && Date.now() < end; i++) {
    let any = false;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        if (readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim()) any = true;
      } catch {
        // the thread is gone
      }
    }
    if (!any) return;
    await sleep(10);
  }
  throw new Error(`relay ${pid} still has children ${ms} ms after the transfer`);
}

/** Runs `blast` with `args`; resolves with its exit code and stdout; `onLine` sees each stdout line. */
function runBlast(blast, args, onLine) {
  const child = spawn(blast, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    const before = out.length;
    out += d;
    if (onLine && out.indexOf('\n', before) >= 0) onLine(out);
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const done = endOf(child).then(([code, signal]) => ({ code: code ?? signal, out, err: err.trim() }));
  return { child, done };
}

/** One transfer of `bytes` from a blast sender at `target` to a blast sink on `sinkPort`. */
function transfer(blast, target, sinkPort, bytes, ms, what) {
  return transferWith({ sink: [blast, ['-l', String(sinkPort)]], sender: [blast, [String(target), String(bytes)]], bytes, ms, what });
}

/**
 * One transfer of `bytes`: the sink ([program, args]; prints "ready", then "bytes seconds cpu"
 * at end of file) starts first, then the sender (prints its CPU seconds). Resolves with the
 * sink's MB/s and both CPU figures; bounded by `ms`.
 */
export async function transferWith({ sink: [sinkBin, sinkArgs], sender: [senderBin, senderArgs], bytes, ms, what }) {
  let ready;
  const isReady = new Promise((r) => (ready = r));
  const sink = runBlast(sinkBin, sinkArgs, (out) => out.startsWith('ready\n') && ready());
  const kill = (p) => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  };
  try {
    await within(Promise.race([isReady, sink.done.then((r) => Promise.reject(new Error(`${what}: sink failed: ${r.err}`)))]), 10000, `${what}: sink`, () => kill(sink));
    const sender = runBlast(senderBin, senderArgs);
    const [s, k] = await within(Promise.all([sender.done, sink.done]), ms, what, () => {
      kill(sender);
      kill(sink);
    });
    if (s.code !== 0) throw new Error(`${what}: sender failed (${s.code}): ${s.err}`);
    const [n, secs, sinkCpu] = k.out.split('\n')[1].trim().split(/\s+/).map(Number);
    if (n !== bytes) throw new Error(`${what}: sink got ${n} of ${bytes} bytes`);
    return { mbps: bytes / MiB / secs, senderCpu: Number(s.out.trim()), sinkCpu };
  } finally {
    kill(sink);
  }
}

function variants(tsocat, socat) {
  const list = [];
  for (const kind of ['tcp', 'unix']) {
    const path = kind === 'tcp' ? 'TCP→TCP' : 'UNIX→TCP';
    list.push(
      { id: `${kind}-tsocat`, kind, label: `${path} tsocat (zero-copy path)`, argv: tsocat, env: { TSOCAT_SPLICE: undefined } },
      { id: `${kind}-tsocat-buffered`, kind, label: `${path} tsocat, TSOCAT_SPLICE=off (buffered)`, argv: tsocat, env: { TSOCAT_SPLICE: 'off' } },
      { id: `${kind}-socat`, kind, label: `${path} socat`, argv: [socat] },
      { id: `${kind}-socat-b65536`, kind, label: `${path} socat -b 65536`, argv: [socat, '-b', '65536'] },
    );
  }
  list.push({ id: 'direct', kind: 'direct', label: 'direct loopback: sender → sink, no relay' });
  return list;
}

/**
 * Runs the rows. `runs` rounds at most, none after the first started once `deadlineMs` has passed.
 * Returns { skipped } when gcc is missing, else { mb, runs, variants: [...], ratios: [...] }.
 */
export async function zeroCopyRows({ tsocat, socat, mb, runs, deadlineMs }) {
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-bench-zc-'));
  const relays = [];
  try {
    const compiled = compileC(join(HERE, 'blast.c'), dir, 'blast');
    if (compiled.skipped) return { skipped: compiled.skipped };
    const bytes = mb * MiB;
    const perRunMs = 60000 + mb * 100; // 10 MB/s would still finish
    const rows = variants(tsocat, socat);
    for (const v of rows) {
      v.sinkPort = await reservePort();
      v.samples = [];
      if (v.kind === 'direct') {
        v.target = v.sinkPort;
        continue;
      }
      const listen = v.kind === 'tcp' ? `TCP-LISTEN:${await reservePort()},fork,reuseaddr` : `UNIX-LISTEN:${join(dir, `${v.id}.sock`)},fork`;
      v.target = v.kind === 'tcp' ? Number(listen.split(/[:,]/)[1]) : join(dir, `${v.id}.sock`);
      v.relay = startRelay([...v.argv, listen, `TCP:127.0.0.1:${v.sinkPort}`], v.env);
      relays.push(v.relay);
    }
    for (const v of rows) {
      if (!v.relay) continue;
      await (v.kind === 'tcp' ? waitListening(v.target) : waitUnixListening(v.target)).catch((e) => {
        throw new Error(`${v.label}: ${e.message}; relay said: ${v.relay.stderr().trim() || '(nothing)'}`);
      });
    }
    const end = Date.now() + deadlineMs;
    let done = 0;
    // the first round always runs, so every row has a median
    for (; done < runs && (done === 0 || Date.now() < end); done++) {
      const order = shuffled(rows);
      for (const v of order) {
        const pid = v.relay?.child.pid;
        const c0 = pid ? processCpu(pid) : 0;
        // the relay's memory idle just before the transfer, and the most sampled during it: PSS of its
        // process tree, as socat's bytes move in a child it forks, whose pages it shares with its parent
        // (a sum of RSS would count them twice); every 100 ms, as reading smaps costs the bench CPU
        const idleRss = pid ? treePssKiB(pid) : Number.NaN;
        let peakRss = idleRss;
        const sampler = pid ? setInterval(() => (peakRss = Math.max(peakRss, treePssKiB(pid))), 100) : undefined;
        const t = await transfer(compiled.bin, v.target, v.sinkPort, bytes, perRunMs, v.label)
          .catch((e) => {
            throw new Error(`${e.message}${v.relay ? `; relay said: ${v.relay.stderr().trim() || '(nothing)'}` : ''}`);
          })
          .finally(() => clearInterval(sampler));
        if (pid) await childrenReaped(pid);
        const relayCpu = pid ? processCpu(pid) - c0 : Number.NaN;
        const perGiB = bytes / GiB;
        v.samples.push({ mbps: t.mbps, relayCpu: relayCpu / perGiB, senderCpu: t.senderCpu / perGiB, sinkCpu: t.sinkCpu / perGiB, peakOverIdle: peakRss / idleRss, peakRssKiB: peakRss });
      }
    }
    const out = rows.map((v) => {
      const pick = (k) => median(v.samples.map((s) => s[k]));
      const speeds = v.samples.map((s) => s.mbps);
      return {
        id: v.id,
        label: v.label,
        runs: v.samples.length,
        mbps: pick('mbps'),
        min: Math.min(...speeds),
        max: Math.max(...speeds),
        relayCpuPerGB: pick('relayCpu'),
        senderCpuPerGB: pick('senderCpu'),
        sinkCpuPerGB: pick('sinkCpu'),
        // the median run, and the worst: a fresh relay's first transfer also pages in Node's own code once
        // (its optimizing compiler: ~4 MiB of /usr/bin/node's text), which later transfers do not repeat
        peakOverIdle: pick('peakOverIdle'),
        worstPeakOverIdle: Math.max(...v.samples.map((x) => x.peakOverIdle)),
        peakRssKiB: Math.max(...v.samples.map((x) => x.peakRssKiB)),
      };
    });
    const by = Object.fromEntries(out.map((r) => [r.id, r]));
    const ratios = [];
    for (const kind of ['tcp', 'unix']) {
      const ts = by[`${kind}-tsocat`].mbps;
      ratios.push(
        { kind, name: 'tsocat / socat', value: ts / by[`${kind}-socat`].mbps },
        { kind, name: 'tsocat / (socat -b 65536)', value: ts / by[`${kind}-socat-b65536`].mbps },
        { kind, name: 'tsocat / direct', value: ts / by.direct.mbps },
        { kind, name: 'tsocat / tsocat buffered', value: ts / by[`${kind}-tsocat-buffered`].mbps },
      );
    }
    return { mb, runs: done, cpuTickPerGB: 1 / CLK_TCK / (bytes / GiB), variants: out, ratios };
  } finally {
    await Promise.all(relays.map((r) => r.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rows as text lines: a table, the ratios, and what the load generator did. */
export function formatZeroCopy(zc) {
  if (zc.skipped) return [`zero-copy rows (C sender and sink) skipped: ${zc.skipped}`];
  const f = (n) => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(2)) : '—');
  const lines = [
    `Zero-copy rows: C sender → fork relay → C sink, separate processes (bench/zero-copy/blast.c); ${zc.mb} MB per run, ${zc.runs} rounds in random order, medians`,
    '',
  ];
  const table = [
    ['relay', 'MB/s', 'min–max', 'relay CPU s/GB', 'sender CPU s/GB', 'sink CPU s/GB', 'runs'],
    ...zc.variants.map((v) => [v.label, f(v.mbps), `${f(v.min)}–${f(v.max)}`, f(v.relayCpuPerGB), f(v.senderCpuPerGB), f(v.sinkCpuPerGB), String(v.runs)]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((l) => l[i].length)));
  for (const l of table) lines.push(l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  lines.push('');
  for (const kind of ['tcp', 'unix']) {
    const rs = zc.ratios.filter((r) => r.kind === kind);
    lines.push(`${kind === 'tcp' ? 'TCP→TCP' : 'UNIX→TCP'}: ${rs.map((r) => `${r.name} = ${r.value.toFixed(2)}`).join(', ')}`);
  }
  const direct = zc.variants.find((v) => v.id === 'direct');
  const fastest = zc.variants.filter((v) => v.id !== 'direct').reduce((a, b) => (b.mbps > a.mbps ? b : a));
  const margin = direct.mbps / fastest.mbps;
  // CPU s/GB × GB/s = the share of one core the process kept busy
  const core = (perGB) => ((perGB * fastest.mbps) / 1024).toFixed(2);
  lines.push(
    `load generator: sender → sink alone moved ${f(direct.mbps)} MB/s, ${margin.toFixed(2)}× the fastest relay row (${fastest.label}), ` +
      `where the sender used ${core(fastest.senderCpuPerGB)} and the sink ${core(fastest.sinkCpuPerGB)} of a core: ` +
      (margin > 1
        ? 'the generator is not what limits the relay rows'
        : 'NOT faster than a relay row, so these rows may measure the generator (a loaded machine?)'),
  );
  lines.push(
    `CPU figures count clock ticks: one tick is ${f(zc.cpuTickPerGB)} s/GB at ${zc.mb} MB per run` +
      (zc.mb < 512 ? '; runs this small leave the CPU columns to whole ticks and start-up costs (not figures to quote)' : ''),
  );
  return lines;
}
