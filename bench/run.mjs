#!/usr/bin/env node
/**
 * tsocat against socat, side by side in one run: TCP→TCP relay throughput
 * (and the relay's peak memory against the same relay idle), UNIX→TCP
 * throughput, TLS→TCP throughput (bench/tls/rows.mjs: a C TLS sender as a separate
 * process, with the bare-OpenSSL no-relay reference) and TLS handshakes per second
 * (OPENSSL-LISTEN,fork), UDP
 * packets relayed per second (64 B and 1400 B), fork connection rate (sequential and 20
 * concurrent, relaying to a TCP echo server and to EXEC:cat), and start-up
 * time; then the zero-copy rows (bench/zero-copy/rows.mjs): TCP→TCP and
 * UNIX→TCP driven by a C sender and sink as separate processes, tsocat's
 * zero-copy and buffered paths, socat, socat -b 65536 and direct loopback, with
 * the relay's CPU per GB. Prints absolute figures and tsocat/socat ratios.
 *
 *   npm run bench                 # SOCAT=/path/to/socat to pick another socat
 *   BENCH_MB=256 BENCH_CONNS=300 npm run bench
 *   npm run bench -- --json       # machine-readable
 *   BENCH_ONLY=throughput npm run bench   # only the TCP→TCP rows (throughput and peak RSS)
 *   BENCH_UDP_PACKETS=5000 npm run bench  # fewer UDP round trips
 *   BENCH_ONLY=zero-copy npm run bench    # only the C-driven rows (needs gcc)
 *   BENCH_ONLY=udp npm run bench          # only the UDP rate rows (C client and echo; needs gcc)
 *   BENCH_RUNS=5 npm run bench            # runs per median (default 3)
 *   BENCH_ZC_MB=1024 npm run bench        # MB per C-driven run (default BENCH_MB if set, else 2048)
 *   BENCH_ZC_DEADLINE_S=600 npm run bench # no C-driven round starts after this (default 1800)
 *   BENCH_ONLY=tls,latency npm run bench  # only those row groups (the list: bench/groups.mjs)
 *   BENCH_TLS_SECS=10 BENCH_RTT=20000 BENCH_IDLE=10000 npm run bench  # s_time -time, round trips, idle peers
 *   npm run bench -- --json > r.json && node bench/readme.mjs r.json  # bench/README.md from that run
 *   npm run bench -- --readme             # the same in one step
 *   BENCH_NOTE='quiet 8-core box' npm run bench -- --json  # a line about the run, kept in the result and the README
 *   BENCH_ONLY=workers npm run bench      # only the --workers 2 rows (8 streams, 20 churners; needs gcc)
 *   BENCH_ONLY=slow-reader BENCH_SLOW_SECS=30 npm run bench  # RSS while a fast sender meets a 1 KB/s reader
 *
 * Then the C-driven groups in their own modules: TLS handshakes by openssl s_time
 * (bench/tls/), round-trip latency (bench/latency/), idle peers' memory (bench/idle/).
 * Loopback only. The UDP rows are driven by a C client and echo (bench/udp/rows.mjs; by this
 * process when gcc is missing), the fork rows by C churners (bench/workers/load.c); the load
 * generator of the TCP throughput, slow-reader, TLS handshake (Node clients), programs and
 * start-up rows is this process, the same for both tools.
 * Every loop is bounded by a count and a deadline; only processes started
 * here are stopped, by pid.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reservePort, reserveUdpPort, waitListening, waitUdpBound } from './ports.mjs';
import { startRelay as spawnRelay, waitUnixListening } from './procs.mjs';
import { median, shuffled } from './cc.mjs';
import { GROUP_IDS } from './groups.mjs';
import { idleRows } from './idle/rows.mjs';
import { latencyRows } from './latency/rows.mjs';
import { writeReadme } from './readme.mjs';
import { tableLines } from './table.mjs';
import { TLS_MODES, tlsRows } from './tls/rows.mjs';
import { udpRateRows } from './udp/rows.mjs';
import { churnRateRows, workersRows } from './workers/rows.mjs';
import { slowReaderRows } from './slow-reader.mjs';
import { tlsThroughputRows, tlsThroughputTableRows } from './tls/throughput.mjs';
import { formatZeroCopy, zeroCopyRows } from './zero-copy/rows.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TSOCAT = [process.execPath, join(ROOT, 'bin', 'tsocat.js')];
const SOCAT_PATH = process.env.SOCAT || spawnSync('sh', ['-c', 'command -v socat'], { encoding: 'utf8' }).stdout.trim();
const MB = Number(process.env.BENCH_MB || 512);
const CONNS = Number(process.env.BENCH_CONNS || 500);
const STARTS = Number(process.env.BENCH_STARTS || 30);
const UDP_PACKETS = Number(process.env.BENCH_UDP_PACKETS || 20000);
const REPEATS = Number(process.env.BENCH_RUNS || 3);
const SLOW_SECS = Number(process.env.BENCH_SLOW_SECS || 10);
/** Exchanges per run of the fork rows (C churners do a few thousand a second: 500 would be a fraction of a second). */
const CHURN_CONNS = Number(process.env.BENCH_CHURN_CONNS || 2000);
/** Exchanges through a fresh fork relay before its rate is counted (the steady rate of a long-lived listener). */
const CHURN_WARM = Number(process.env.BENCH_CHURN_WARM || 3000);
const ZC_MB = Number(process.env.BENCH_ZC_MB || process.env.BENCH_MB || 2048);
const ZC_DEADLINE_MS = Number(process.env.BENCH_ZC_DEADLINE_S || 1800) * 1000;
const TLS_SECS = Number(process.env.BENCH_TLS_SECS || 10);
const RTT = Number(process.env.BENCH_RTT || 20000);
const IDLE = Number(process.env.BENCH_IDLE || 10000);
const JSON_OUT = process.argv.includes('--json');
const README_OUT = process.argv.includes('--readme');
const ONLY = process.env.BENCH_ONLY?.split(',');
for (const g of ONLY ?? []) {
  if (!GROUP_IDS.includes(g)) {
    console.error(`bench: unknown BENCH_ONLY value "${g}" (one or more of ${GROUP_IDS.join(', ')}, comma-separated)`);
    process.exit(1);
  }
}
/** True when the row group `id` is to run (all of them without BENCH_ONLY). */
const want = (id) => !ONLY || ONLY.includes(id);
for (const [name, value] of [
  ['BENCH_RUNS', REPEATS],
  ['BENCH_ZC_MB', ZC_MB],
  ['BENCH_TLS_SECS', TLS_SECS],
  ['BENCH_RTT', RTT],
  ['BENCH_IDLE', IDLE],
]) {
  if (!(value >= 1 && Number.isInteger(value))) {
    console.error(`bench: ${name} must be a whole number ≥ 1, not "${process.env[name]}"`);
    process.exit(1);
  }
}

if (!SOCAT_PATH) {
  console.error('bench: socat not found (install it, or set SOCAT=/path/to/socat)');
  process.exit(1);
}
const TOOLS = { socat: [SOCAT_PATH], tsocat: TSOCAT };

/** Rejects if `promise` takes longer than `ms`: no measurement may hang the bench. */
function deadline(promise, ms, what) {
  let t;
  return Promise.race([promise, new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(t),
  );
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

/** Starts a relay of `tool` with `args` (see ./procs.mjs). */
function startRelay(tool, args) {
  return spawnRelay([...TOOLS[tool], ...args]);
}

/** A server that discards what it gets and reports the byte count once a client closes. */
async function sinkServer() {
  let onDone;
  const server = createServer((s) => {
    let n = 0;
    s.on('data', (d) => {
      n += d.length;
    });
    s.on('end', () => {
      s.end();
      onDone?.(n);
    });
    s.on('error', () => {});
  });
  const port = await listen(server);
  return { port, server, received: () => new Promise((r) => (onDone = r)) };
}

async function echoServer() {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  return { port: await listen(server), server };
}

/** Pushes `bytes` through the relay; MB/s from the first write to the sink's end. Over TCP, or from a UNIX socket with `unix`. */
async function throughputOnce(tool, kind = 'tcp') {
  const sink = await sinkServer();
  const port = await reservePort();
  const dir = kind === 'unix' ? mkdtempSync(join(tmpdir(), 'tsocat-bench-')) : undefined;
  const path = dir ? join(dir, 'relay.sock') : undefined;
  const listen = path ? `UNIX-LISTEN:${path}` : `TCP-LISTEN:${port},reuseaddr`;
  const relay = startRelay(tool, [listen, `TCP:127.0.0.1:${sink.port}`]);
  try {
    if (path) await waitUnixListening(path);
    else await waitListening(port);
    // the same relay idle (listening, nothing moved yet): what the transfer's peak is measured against
    const idleKiB = relay.peakRssKiB();
    const total = MB * 1024 * 1024;
    const block = Buffer.alloc(256 * 1024, 0x61);
    const received = sink.received();
    // VmHWM is gone once the relay exits at the end of the transfer: sample it while it runs
    let peak = 0;
    const sampler = setInterval(() => {
      const v = relay.peakRssKiB();
      if (Number.isFinite(v)) peak = Math.max(peak, v);
    }, 20);
    const t0 = process.hrtime.bigint();
    await new Promise((resolve, reject) => {
      const s = path ? connect({ path }) : connect({ port, host: '127.0.0.1' });
      s.on('error', reject);
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          sent += block.length;
          if (!s.write(block)) return s.once('drain', pump);
        }
        s.end(resolve);
      };
      s.once('connect', pump);
      s.resume(); // nothing comes back, but never let it block
    });
    const n = await deadline(received, 120000, `${tool} throughput`).finally(() => clearInterval(sampler));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (n !== total) throw new Error(`${tool}: sink got ${n} of ${total} bytes`);
    return { mbps: MB / secs, rssKiB: peak, idleKiB };
  } finally {
    await relay.stop();
    sink.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * UDP packets per second through `UDP-LISTEN:P UDP:127.0.0.1:<echo>` (the relay
 * forwards each packet to an echo server and its reply back: two packets relayed
 * per round trip), with WINDOW round trips in flight. A packet lost on loopback
 * is not counted; a window that stalls for STALL_MS is refilled.
 */
async function udpRate(tool, size) {
  const WINDOW = 16;
  const STALL_MS = 200;
  const echo = createSocket('udp4');
  echo.on('message', (m, from) => echo.send(m, from.port, from.address));
  await new Promise((r) => echo.bind(0, '127.0.0.1', r));
  const port = await reserveUdpPort();
  const relay = startRelay(tool, ['-b', '65536', `UDP-LISTEN:${port},bind=127.0.0.1`, `UDP:127.0.0.1:${echo.address().port}`]);
  const client = createSocket('udp4');
  await new Promise((r) => client.bind(0, '127.0.0.1', r));
  const payload = Buffer.alloc(size, 0x61);
  try {
    await waitUdpBound(port);
    let answered = 0;
    let inFlight = 0;
    let lastReply = Date.now();
    const send = () => {
      while (inFlight < WINDOW) {
        inFlight++;
        client.send(payload, port, '127.0.0.1');
      }
    };
    const t0 = process.hrtime.bigint();
    await deadline(
      new Promise((resolve) => {
        client.on('message', () => {
          answered++;
          inFlight--;
          lastReply = Date.now();
          if (answered >= UDP_PACKETS) resolve();
          else send();
        });
        const stall = setInterval(() => {
          if (answered >= UDP_PACKETS) return clearInterval(stall);
          if (Date.now() - lastReply > STALL_MS) {
            inFlight = 0;
            lastReply = Date.now();
            send();
          }
        }, STALL_MS);
        send();
      }),
      120000,
      `${tool} UDP rate`,
    );
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    return (2 * answered) / secs;
  } finally {
    client.close();
    echo.close();
    await relay.stop();
  }
}

async function throughput(tool, kind = 'tcp') {
  const runs = [];
  for (let i = 0; i < REPEATS; i++) {
    runs.push(await throughputOnce(tool, kind));
  }
  const worst = (key) => Math.max(...runs.map((r) => r[key]).filter(Number.isFinite), 0);
  return { mbps: median(runs.map((r) => r.mbps)), rssKiB: worst('rssKiB'), idleKiB: worst('idleKiB') };
}

/** One client connection: send 16 bytes, wait for them back, close. */
/** A certificate and key for the TLS rows, made once per run with the openssl command. */
let tlsFiles;
function tlsListen(port) {
  if (!tlsFiles) {
    const dir = mkdtempSync(join(tmpdir(), 'tsocat-bench-tls-'));
    tlsFiles = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), dir };
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', tlsFiles.key, '-out', tlsFiles.cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    if (r.status !== 0) throw new Error('openssl could not make a test certificate');
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return `OPENSSL-LISTEN:${port},reuseaddr,fork,cert=${tlsFiles.cert},key=${tlsFiles.key},verify=0`;
}

function oneExchange(port, secure = false) {
  return new Promise((resolve, reject) => {
    const s = secure ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : connect({ port, host: '127.0.0.1' });
    let got = 0;
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('exchange timed out'));
    }, 10000);
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.on('data', (d) => {
      got += d.length;
      if (got >= 16) {
        clearTimeout(t);
        s.end();
        s.destroy();
        resolve();
      }
    });
    s.write('0123456789abcdef');
  });
}

/** Connections per second through a forking listener, `parallel` clients at a time. */
async function connectionRate(tool, target, parallel, secure = false) {
  const port = await reservePort();
  const relay = startRelay(tool, [secure ? tlsListen(port) : `TCP-LISTEN:${port},reuseaddr,fork`, target]);
  try {
    await waitListening(port);
    await oneExchange(port, secure); // warm-up, not counted
    let next = 0;
    const t0 = process.hrtime.bigint();
    const worker = async () => {
      while (next < CONNS) {
        next++;
        await oneExchange(port, secure);
      }
    };
    await deadline(Promise.all(Array.from({ length: parallel }, worker)), 120000, `${tool} connection rate`);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    return CONNS / secs;
  } finally {
    await relay.stop();
  }
}

/** Median wall time of a complete trivial run (both ends /dev/null). */
function startup(tool) {
  const [cmd, ...pre] = TOOLS[tool];
  const times = [];
  for (let i = 0; i < STARTS; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, [...pre, '-u', '/dev/null', '/dev/null'], { stdio: 'ignore', timeout: 10000 });
    if (r.status !== 0) throw new Error(`${tool} start-up run failed (${r.status ?? r.signal})`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

/** Median wall time of `node -e 0` (the same Node as tsocat's), STARTS runs. */
function bareNodeStart() {
  const times = [];
  for (let i = 0; i < STARTS; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore', timeout: 10000 });
    if (r.status !== 0) throw new Error(`node -e 0 failed (${r.status ?? r.signal})`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

/** The group the rows being made belong to (set by main before each group). */
let group;

/**
 * One row of the table: `runs` is how many runs its medians are over; `reference`, when given, is
 * { label, value }: the same measure with no relay or a bare Node program, and tsocat's ratio to it.
 */
function row(name, unit, socat, tsocat, higherIsBetter, { runs = 1, reference } = {}) {
  const ratio = tsocat / socat;
  const ref = reference && { ...reference, ratio: tsocat / reference.value };
  return { group, name, unit, socat, tsocat, ratio, better: higherIsBetter ? 'higher' : 'lower', runs, ...(ref && { reference: ref }) };
}

/** The s_time rows (bench/tls/rows.mjs) into the table. */
async function sTimeRows(results) {
  const t = await tlsRows({ tools: TOOLS, secs: TLS_SECS, runs: REPEATS });
  if (t.skipped) return t;
  const cell = (target, mode) => t.rows.find((r) => r.target === target && r.mode === mode);
  for (const mode of TLS_MODES) {
    const [s, ts, node] = ['socat', 'tsocat', 'node'].map((target) => cell(target, mode.id));
    const reference = { label: 'bare Node tls.createServer → echo (ceiling)', value: node.rate };
    results.push(row(`TLS handshakes/s, ${t.certType}, ${mode.label} clients summed (OPENSSL-LISTEN,fork → C echo, ${TLS_SECS} s each)`, 'conn/s', s.rate, ts.rate, true, { runs: ts.runs, reference }));
    if (mode.args.includes('-reuse'))
      results.push(row('  of which resumed (s_time marked "r")', '%', 100 * s.resumedShare, 100 * ts.resumedShare, true, { runs: ts.runs, reference: { label: 'bare Node', value: 100 * node.resumedShare } }));
  }
  return t;
}

/** The latency rows (bench/latency/rows.mjs) into the table. */
async function latency(results) {
  const l = await latencyRows({ tools: TOOLS, count: RTT, runs: REPEATS });
  if (l.skipped) return l;
  const by = Object.fromEntries(l.rows.map((r) => [r.id, r]));
  for (const [key, what] of [
    ['medianUs', 'median'],
    ['p99Us', 'p99'],
  ]) {
    const reference = { label: 'C client → C echo, no relay (floor)', value: by.direct[key] };
    results.push(row(`${l.size} B round trip, ${what} (TCP-LISTEN,fork → C echo, C client, ${RTT} round trips)`, 'µs', by.socat[key], by.tsocat[key], false, { runs: by.tsocat.runs, reference }));
  }
  return l;
}

/** The idle-peer rows (bench/idle/rows.mjs) into the table. */
async function idle(results) {
  const d = await idleRows({ tools: TOOLS, peers: IDLE, runs: REPEATS });
  if (d.skipped) return d;
  const { socat: s, tsocat: ts } = d.tools;
  const runs = ts.runs;
  results.push(row(`memory per idle peer: tree PSS with ${d.peers} peers − idle listener's, / peers (TCP-LISTEN,fork → C echo)`, 'KiB', s.perPeerKiB, ts.perPeerKiB, false, { runs }));
  results.push(row(`descriptors per idle peer, whole process tree (${d.peers} peers)`, 'fds', s.fdsPerPeer, ts.fdsPerPeer, false, { runs }));
  results.push(row('forking listener, no peers: PSS of its process tree', 'MiB', s.idlePssKiB / 1024, ts.idlePssKiB / 1024, false, { runs }));
  const reference = { label: "bare node -e 'setInterval(()=>{},1e9)' (target: tsocat ≤ 1.15×)", value: d.bareNodeRssKiB / 1024 };
  results.push(row('forking listener, no peers: RSS', 'MiB', s.idleRssKiB / 1024, ts.idleRssKiB / 1024, false, { runs, reference }));
  return d;
}

/**
 * The UDP rate rows: driven by a C client and echo (bench/udp/rows.mjs) when gcc is there, since
 * this process as the generator competes with the relay for the CPU; else by this process.
 * Returns the line that says which generator drove them.
 */
async function udpRows(results, both) {
  const sizes = [64, 1400];
  const c = await udpRateRows({ relays: { socat: [SOCAT_PATH], tsocat: TSOCAT }, packets: UDP_PACKETS, runs: REPEATS, sizes });
  for (const size of sizes) {
    const what = `UDP packets relayed per second (${size} B, UDP-LISTEN → UDP echo, 16 in flight`;
    if (c.skipped) {
      const udp = await both((t) => udpRate(t, size));
      results.push(row(`${what}, generator in the bench's process)`, 'pkt/s', udp.socat, udp.tsocat, true));
      continue;
    }
    const r = c.sizes[size];
    results.push(row(`${what}, C client and echo)`, 'pkt/s', r.socat, r.tsocat, true, { runs: REPEATS }));
    results.push(row(`UDP relay CPU per packet (${size} B, utime+stime)`, 'µs', r.socatCpuUs, r.tsocatCpuUs, false, { runs: REPEATS }));
  }
  if (c.skipped) return `driven by the bench's own process: ${c.skipped}`;
  return `the C client straight into the C echo, no relay: ${sizes.map((s) => `${c.sizes[s].direct.toFixed(0)} pkt/s at ${s} B`).join(', ')}`;
}

/** The C-driven zero-copy rows (bench/zero-copy/rows.mjs); their headline figures also go into the main table. */
async function zeroCopy(results) {
  const zc = await zeroCopyRows({ tsocat: TSOCAT, socat: SOCAT_PATH, mb: ZC_MB, runs: REPEATS, deadlineMs: ZC_DEADLINE_MS });
  if (zc.skipped) return zc;
  const by = Object.fromEntries(zc.variants.map((v) => [v.id, v]));
  for (const [kind, path] of [
    ['tcp', 'TCP→TCP'],
    ['unix', 'UNIX→TCP'],
  ]) {
    const ts = by[`${kind}-tsocat`];
    const what = `${path}, C sender → C sink (${ZC_MB} MB)`;
    const runs = ts.runs;
    results.push(row(`${what}`, 'MB/s', by[`${kind}-socat`].mbps, ts.mbps, true, { runs }));
    results.push(row(`${what}, against socat -b 65536`, 'MB/s', by[`${kind}-socat-b65536`].mbps, ts.mbps, true, { runs }));
    results.push(row(`${path} relay CPU per GB moved (utime+stime, children included)`, 's/GB', by[`${kind}-socat`].relayCpuPerGB, ts.relayCpuPerGB, false, { runs }));
    // issue 19 target 6: memory that does not grow with bytes moved, on either path (median run; the worst beside it)
    for (const [label, t] of [['zero-copy path', ts], ['buffered path', by[`${kind}-tsocat-buffered`]]]) {
      const worst = `worst run: socat ${by[`${kind}-socat`].worstPeakOverIdle.toFixed(2)}, tsocat ${t.worstPeakOverIdle.toFixed(2)}`;
      results.push(row(`${path} (${ZC_MB} MB): relay tree's peak PSS during the transfer / the same relay idle just before, tsocat ${label} (${worst})`, 'x', by[`${kind}-socat`].peakOverIdle, t.peakOverIdle, false, { runs }));
    }
  }
  return zc;
}

/** The --workers rows (bench/workers/rows.mjs, C load): tsocat --workers 2 against socat, and tsocat's one process beside it. */
async function workers(results) {
  const w = await workersRows({ tsocat: TSOCAT, socat: SOCAT_PATH, mb: MB, conns: CONNS, runs: REPEATS });
  if (w.skipped) return console.error(`bench: --workers rows skipped: ${w.skipped}`);
  for (const r of w.rows) {
    results.push(row(`${r.name}, tsocat --workers 2`, r.unit, r.by.socat, r.by['tsocat --workers 2'], true, { runs: REPEATS }));
    results.push(row(`${r.name}, tsocat (one process)`, r.unit, r.by.socat, r.by.tsocat, true, { runs: REPEATS }));
  }
}

/** The slow-reader rows (bench/slow-reader.mjs): RSS flat while a fast sender meets a 1 KB/s reader, both of tsocat's paths against socat. */
async function slowReader(results) {
  const r = await slowReaderRows({ tools: TOOLS, secs: SLOW_SECS, runs: REPEATS });
  const s = r.socat;
  for (const [label, t] of [['tsocat', r.tsocat], ['tsocat buffered path (TSOCAT_SPLICE=off)', r['tsocat, buffered path']]]) {
    const what = `${label}: fast sender → relay → reader taking 1 KB/s, ${SLOW_SECS} s`;
    results.push(row(`${what}: relay RSS at the end / at 2 s (flat = 1)`, 'x', s.growth, t.growth, false, { runs: REPEATS }));
    results.push(row(`${what}: relay peak RSS / idle`, 'x', s.peakOverIdle, t.peakOverIdle, false, { runs: REPEATS }));
    results.push(row(`${what}: KiB the sender got rid of (kernel buffers and the relay's)`, 'KiB', s.acceptedKiB, t.acceptedKiB, false, { runs: REPEATS }));
  }
}

/**
 * The fork rows: C churners in processes of their own (bench/workers/rows.mjs), the
 * same churners with no relay as the reference; without gcc, this process's Node clients.
 */
async function forkRate(results, echoTarget) {
  // a forking listener lives long: the rows measure it after CHURN_WARM exchanges (a fresh tsocat
  // serves its first thousand at about half its later rate, the kernel's and V8's caches filling);
  // the last row is a fresh relay's rate (200 exchanges before), for both tools alike
  const cases = [
    { parallel: 1, warm: CHURN_WARM },
    { parallel: 20, warm: CHURN_WARM },
    { parallel: 20, warm: 200 },
  ];
  const c = await churnRateRows({ tsocat: TSOCAT, socat: SOCAT_PATH, conns: CHURN_CONNS, runs: REPEATS, cases });
  if (c.skipped) {
    console.error(`bench: fork rows with Node clients (the load may limit them): ${c.skipped}`);
    for (const parallel of [1, 20]) {
      const r = await both((t) => connectionRate(t, echoTarget, parallel));
      results.push(row(`fork rate, ${parallel === 1 ? 'sequential' : `${parallel} concurrent`} (${CONNS} conns, Node clients → TCP echo)`, 'conn/s', r.socat, r.tsocat, true));
    }
    return;
  }
  for (const r of c.rows) {
    const reference = { label: 'the same C churners → C echo, no relay (the load alone)', value: r.by.direct };
    const when = r.warm === CHURN_WARM ? `after ${r.warm} exchanges` : `fresh relay, ${r.warm} exchanges before`;
    results.push(row(`fork rate, ${r.parallel === 1 ? 'sequential' : `${r.parallel} concurrent`} (${CHURN_CONNS} conns, 16 B echoed, C churners → fork relay → C echo; ${when})`, 'conn/s', r.by.socat, r.by.tsocat, true, { runs: REPEATS, reference }));
  }
}

async function main() {
  const echo = await echoServer();
  const results = [];
  const extra = {};
  const both = async (fn) => ({ socat: await fn('socat'), tsocat: await fn('tsocat') });
  /** Medians of BENCH_RUNS rounds, each round running socat and tsocat in a new random order. */
  const bothMedians = async (fn) => {
    const runs = { socat: [], tsocat: [] };
    for (let i = 0; i < REPEATS; i++) for (const t of shuffled(['socat', 'tsocat'])) runs[t].push(await fn(t));
    return { socat: median(runs.socat), tsocat: median(runs.tsocat) };
  };
  try {
    group = 'throughput';
    if (want(group)) {
      const tp = await both(throughput);
      results.push(row(`TCP→TCP throughput (${MB} MB)`, 'MB/s', tp.socat.mbps, tp.tsocat.mbps, true, { runs: REPEATS }));
      results.push(row('relay peak RSS during that transfer (worst run)', 'MiB', tp.socat.rssKiB / 1024, tp.tsocat.rssKiB / 1024, false, { runs: REPEATS }));
      results.push(row('the same relay idle (listening, before the transfer)', 'MiB', tp.socat.idleKiB / 1024, tp.tsocat.idleKiB / 1024, false, { runs: REPEATS }));
      results.push(row('peak during the transfer / idle (memory that grows with bytes moved)', 'x', tp.socat.rssKiB / tp.socat.idleKiB, tp.tsocat.rssKiB / tp.tsocat.idleKiB, false, { runs: REPEATS }));
    }
    group = 'slow-reader';
    if (want(group)) await slowReader(results);
    group = 'tls';
    if (want(group)) {
      results.push(...tlsThroughputTableRows(await tlsThroughputRows({ tsocat: TSOCAT, socat: SOCAT_PATH, mb: MB, runs: REPEATS }), row));
      const hs = await both((t) => connectionRate(t, `TCP:127.0.0.1:${echo.port}`, 1, true));
      results.push(row(`TLS handshakes per second (OPENSSL-LISTEN,fork → TCP echo, ${CONNS} sequential Node clients)`, 'conn/s', hs.socat, hs.tsocat, true));
      extra.tls = await sTimeRows(results);
    }
    group = 'unix';
    if (want(group)) {
      const ux = await both((t) => throughput(t, 'unix'));
      results.push(row(`UNIX→TCP throughput (${MB} MB)`, 'MB/s', ux.socat.mbps, ux.tsocat.mbps, true, { runs: REPEATS }));
    }
    group = 'udp';
    if (want(group)) {
      extra.udp = { note: await udpRows(results, both) };
    }
    const echoTarget = `TCP:127.0.0.1:${echo.port}`;
    group = 'fork';
    if (want(group)) await forkRate(results, echoTarget);
    group = 'programs';
    if (want(group)) {
      for (const program of ['EXEC:cat', 'SYSTEM:cat']) {
        const seqProgram = await bothMedians((t) => connectionRate(t, program, 1));
        results.push(row(`fork rate, sequential (${CONNS} conns, → ${program})`, 'conn/s', seqProgram.socat, seqProgram.tsocat, true, { runs: REPEATS }));
        const parProgram = await bothMedians((t) => connectionRate(t, program, 20));
        results.push(row(`fork rate, 20 concurrent (${CONNS} conns, → ${program})`, 'conn/s', parProgram.socat, parProgram.tsocat, true, { runs: REPEATS }));
      }
    }
    group = 'startup';
    if (want(group)) {
      const s = await both(async (t) => startup(t));
      // issue 18's line is bare Node, not socat: a process that starts V8 and exits at once
      const reference = { label: 'bare `node -e 0` (target: tsocat ≤ 1.15× it)', value: bareNodeStart() };
      results.push(row('start-up + trivial run', 'ms', s.socat, s.tsocat, false, { runs: STARTS, reference }));
    }
    group = 'latency';
    if (want(group)) extra.latency = await latency(results);
    group = 'idle';
    if (want(group)) extra.idle = await idle(results);
    group = 'workers';
    if (want(group)) await workers(results);
    group = 'zero-copy';
    report(results, want(group) ? await zeroCopy(results) : undefined, extra);
  } finally {
    echo.server.close();
  }
}

function report(results, zc, extra = {}) {
  const socatVersion = spawnSync(SOCAT_PATH, ['-V'], { encoding: 'utf8' }).stdout.split('\n')[1]?.trim();
  const notes = Object.entries(extra).flatMap(([g, r]) => (r.skipped ? [`${g} rows skipped: ${r.skipped}`] : r.note ? [`${g} rows: ${r.note}`] : []));
  const all = {
    date: new Date().toISOString(),
    node: process.version,
    socat: socatVersion,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    runs: REPEATS,
    only: ONLY,
    sizes: { BENCH_MB: MB, BENCH_CONNS: CONNS, BENCH_STARTS: STARTS, BENCH_UDP_PACKETS: UDP_PACKETS, BENCH_TLS_SECS: TLS_SECS, BENCH_RTT: RTT, BENCH_IDLE: IDLE, BENCH_ZC_MB: ZC_MB, BENCH_SLOW_SECS: SLOW_SECS, BENCH_CHURN_CONNS: CHURN_CONNS, BENCH_CHURN_WARM: CHURN_WARM },
    note: process.env.BENCH_NOTE,
    results,
    notes,
    ...extra,
    zeroCopy: zc,
  };
  if (README_OUT) console.error(`bench: wrote ${writeReadme(all)}`);
  if (JSON_OUT) {
    if (zc?.skipped) console.error(formatZeroCopy(zc)[0]);
    for (const n of notes) console.error(n);
    console.log(JSON.stringify(all, null, 2));
    return;
  }
  console.log(`node ${process.version}; ${socatVersion}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log('ratio = tsocat / socat; the "better" column says which way is good for that row; figures are medians over "runs";');
  console.log('reference = the same measure with no relay or a bare Node program, and tsocat / reference in parentheses\n');
  for (const l of tableLines(results)) console.log(l);
  for (const n of notes) console.log(n);
  if (zc) console.log(`\n${formatZeroCopy(zc).join('\n')}`);
}

main().catch((err) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
