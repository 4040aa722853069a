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
 *   BENCH_RUNS=5 npm run bench            # runs per median (default 3)
 *   BENCH_ZC_MB=1024 npm run bench        # MB per C-driven run (default BENCH_MB if set, else 2048)
 *   BENCH_ZC_DEADLINE_S=600 npm run bench # no C-driven round starts after this (default 1800)
 *
 * Loopback only. The load generator of the other rows is this process, the same for both tools.
 * Every loop is bounded by a count and a deadline; only processes started
 * here are stopped, by pid.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reservePort, waitListening } from './ports.mjs';
import { startRelay as spawnRelay, waitUnixListening } from './procs.mjs';
import { tlsRows, tlsTableRows } from './tls/rows.mjs';
import { formatZeroCopy, zeroCopyRows } from './zero-copy/rows.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TSOCAT = [process.execPath, join(ROOT, 'bin', 'tsocat.js')];
const SOCAT_PATH = process.env.SOCAT || spawnSync('sh', ['-c', 'command -v socat'], { encoding: 'utf8' }).stdout.trim();
const MB = Number(process.env.BENCH_MB || 512);
const CONNS = Number(process.env.BENCH_CONNS || 500);
const STARTS = Number(process.env.BENCH_STARTS || 30);
const UDP_PACKETS = Number(process.env.BENCH_UDP_PACKETS || 20000);
const REPEATS = Number(process.env.BENCH_RUNS || 3);
const ZC_MB = Number(process.env.BENCH_ZC_MB || process.env.BENCH_MB || 2048);
const ZC_DEADLINE_MS = Number(process.env.BENCH_ZC_DEADLINE_S || 1800) * 1000;
const JSON_OUT = process.argv.includes('--json');
const ONLY = process.env.BENCH_ONLY;
if (ONLY !== undefined && ONLY !== 'throughput' && ONLY !== 'zero-copy') {
  console.error(`bench: unknown BENCH_ONLY value "${ONLY}" (throughput or zero-copy)`);
  process.exit(1);
}
for (const [name, value] of [
  ['BENCH_RUNS', REPEATS],
  ['BENCH_ZC_MB', ZC_MB],
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

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

async function reserveUdpPort() {
  const s = createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** True once something is bound to the UDP port (read from /proc, nothing sent). */
async function waitUdpBound(port, ms = 10000) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const end = Date.now() + ms;
  for (let i = 0; i < 2000 && Date.now() < end; i++) {
    const lines = readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1);
    if (lines.some((l) => l.trim().split(/\s+/)[1]?.endsWith(hex))) return;
    await sleep(5);
  }
  throw new Error(`nothing bound to UDP port ${port}`);
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

function row(name, unit, socat, tsocat, higherIsBetter) {
  const ratio = tsocat / socat;
  return { name, unit, socat, tsocat, ratio, better: higherIsBetter ? 'higher' : 'lower' };
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
    const what = `${path}, C sender → C sink (${ZC_MB} MB, median of ${ts.runs})`;
    results.push(row(`${what}`, 'MB/s', by[`${kind}-socat`].mbps, ts.mbps, true));
    results.push(row(`${what}, against socat -b 65536`, 'MB/s', by[`${kind}-socat-b65536`].mbps, ts.mbps, true));
    results.push(row(`${path} relay CPU per GB moved (utime+stime, children included)`, 's/GB', by[`${kind}-socat`].relayCpuPerGB, ts.relayCpuPerGB, false));
  }
  return zc;
}

async function main() {
  const echo = await echoServer();
  const results = [];
  const both = async (fn) => ({ socat: await fn('socat'), tsocat: await fn('tsocat') });
  try {
    if (ONLY === 'zero-copy') return report(results, await zeroCopy(results));
    const tp = await both(throughput);
    results.push(row(`TCP→TCP throughput (${MB} MB, median of ${REPEATS})`, 'MB/s', tp.socat.mbps, tp.tsocat.mbps, true));
    results.push(row('relay peak RSS during that transfer', 'MiB', tp.socat.rssKiB / 1024, tp.tsocat.rssKiB / 1024, false));
    results.push(row('the same relay idle (listening, before the transfer)', 'MiB', tp.socat.idleKiB / 1024, tp.tsocat.idleKiB / 1024, false));
    results.push(row('peak during the transfer / idle (memory that grows with bytes moved)', 'x', tp.socat.rssKiB / tp.socat.idleKiB, tp.tsocat.rssKiB / tp.tsocat.idleKiB, false));
    if (ONLY === 'throughput') return report(results);
    results.push(...tlsTableRows(await tlsRows({ tsocat: TSOCAT, socat: SOCAT_PATH, mb: MB, runs: REPEATS }), row));
    const hs = await both((t) => connectionRate(t, `TCP:127.0.0.1:${echo.port}`, 1, true));
    results.push(row(`TLS handshakes per second (OPENSSL-LISTEN,fork → TCP echo, ${CONNS} sequential)`, 'conn/s', hs.socat, hs.tsocat, true));
    const ux = await both((t) => throughput(t, 'unix'));
    results.push(row(`UNIX→TCP throughput (${MB} MB, median of ${REPEATS})`, 'MB/s', ux.socat.mbps, ux.tsocat.mbps, true));
    for (const size of [64, 1400]) {
      const udp = await both((t) => udpRate(t, size));
      results.push(row(`UDP packets relayed per second (${size} B, UDP-LISTEN → UDP echo, 16 in flight)`, 'pkt/s', udp.socat, udp.tsocat, true));
    }
    const echoTarget = `TCP:127.0.0.1:${echo.port}`;
    const seq = await both((t) => connectionRate(t, echoTarget, 1));
    results.push(row(`fork rate, sequential (${CONNS} conns, → TCP echo)`, 'conn/s', seq.socat, seq.tsocat, true));
    const par = await both((t) => connectionRate(t, echoTarget, 20));
    results.push(row(`fork rate, 20 concurrent (${CONNS} conns, → TCP echo)`, 'conn/s', par.socat, par.tsocat, true));
    const seqExec = await both((t) => connectionRate(t, 'EXEC:cat', 1));
    results.push(row(`fork rate, sequential (${CONNS} conns, → EXEC:cat)`, 'conn/s', seqExec.socat, seqExec.tsocat, true));
    const parExec = await both((t) => connectionRate(t, 'EXEC:cat', 20));
    results.push(row(`fork rate, 20 concurrent (${CONNS} conns, → EXEC:cat)`, 'conn/s', parExec.socat, parExec.tsocat, true));
    const s = await both(async (t) => startup(t));
    results.push(row(`start-up + trivial run (median of ${STARTS})`, 'ms', s.socat, s.tsocat, false));
    report(results, await zeroCopy(results));
  } finally {
    echo.server.close();
  }
}

function report(results, zc) {
  const socatVersion = spawnSync(SOCAT_PATH, ['-V'], { encoding: 'utf8' }).stdout.split('\n')[1]?.trim();
  if (JSON_OUT) {
    if (zc?.skipped) console.error(formatZeroCopy(zc)[0]);
    console.log(JSON.stringify({ node: process.version, socat: socatVersion, cpus: cpus().length, runs: REPEATS, results, zeroCopy: zc }, null, 2));
    return;
  }
  console.log(`node ${process.version}; ${socatVersion}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log('ratio = tsocat / socat; the "better" column says which way is good for that row\n');
  const fmt = (n) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
  const lines = [['measure', 'unit', 'socat', 'tsocat', 'ratio', 'better'], ...results.map((r) => [r.name, r.unit, fmt(r.socat), fmt(r.tsocat), r.ratio.toFixed(2), r.better])];
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  if (results.length) for (const l of lines) console.log(l.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  '));
  if (zc) console.log(`\n${formatZeroCopy(zc).join('\n')}`);
}

main().catch((err) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
