/**
 * The TLS→TCP throughput row of `npm run bench`, driven from outside the bench's
 * own Node process: a C TLS sender (tlsblast.c, OpenSSL, 1 MiB SSL_write calls)
 * → `OPENSSL-LISTEN:P,fork,cert,key,verify=0 TCP:127.0.0.1:<sink>` → the C sink
 * of the zero-copy rows (bench/zero-copy/blast.c). Rows: tsocat, socat, and the
 * reference with no relay: the same sender straight into tlsblast's own TLS sink
 * (bare OpenSSL), which must be faster than every relay row for the row to
 * measure the relay and not its load generator. Each round runs every row once in
 * a new random order; medians over the rounds. MB/s is the sink's bytes over its
 * time from first byte to end of file; relay CPU is utime + stime of the relay and
 * its reaped children per GB.
 *
 * Skipped, with the reason printed, when gcc, OpenSSL's headers (libssl-dev) or
 * the openssl command is missing. Loopback only; every wait is bounded; only the
 * processes started here are stopped, by pid.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reservePort, waitListening } from '../ports.mjs';
import { processCpu, startRelay } from '../procs.mjs';
import { compileC, median, shuffled } from '../cc.mjs';
import { childrenReaped, transferWith } from '../zero-copy/rows.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Compiles tlsblast.c into `dir` against OpenSSL; its path, or { skipped } saying why not. */
function compileTlsBlast(dir) {
  const gcc = spawnSync('sh', ['-c', 'command -v gcc'], { encoding: 'utf8' }).stdout.trim();
  if (!gcc) return { skipped: 'gcc not found (the C TLS sender is compiled from bench/tls/tlsblast.c)' };
  const out = join(dir, 'tlsblast');
  const r = spawnSync(gcc, ['-O2', '-o', out, join(HERE, 'tlsblast.c'), '-lssl', '-lcrypto'], { encoding: 'utf8', timeout: 60000 });
  if (r.status === 0) return { tlsblast: out };
  const first = (r.stderr || String(r.error ?? r.signal)).trim().split('\n')[0];
  return { skipped: /openssl\/ssl\.h|lssl|lcrypto/.test(r.stderr ?? '') ? `OpenSSL's headers or libraries are missing (install libssl-dev): ${first}` : `gcc could not compile bench/tls/tlsblast.c: ${first}` };
}

/** A self-signed RSA-2048 certificate and key in `dir`, or { skipped }. */
function makeCertificate(dir) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) return { skipped: `the openssl command could not make a certificate: ${(r.stderr || String(r.error ?? r.signal)).trim().split('\n')[0]}` };
  return { cert, key };
}

/**
 * Runs the rows: `runs` rounds at most, none after the first once `deadlineMs` has passed.
 * Returns { skipped } or { mb, runs, variants: [{ id, label, runs, mbps, min, max, relayCpuPerGB, senderCpuPerGB, sinkCpuPerGB }] }.
 */
export async function tlsThroughputRows({ tsocat, socat, mb, runs, deadlineMs = 600000 }) {
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-bench-tls-c-'));
  const relays = [];
  try {
    const sender = compileTlsBlast(dir);
    if (sender.skipped) return sender;
    const blast = compileC(join(HERE, '..', 'zero-copy', 'blast.c'), dir, 'blast');
    if (blast.skipped) return blast;
    const sink = { blast: blast.bin };
    const files = makeCertificate(dir);
    if (files.skipped) return files;
    const bytes = mb * MiB;
    const rows = [
      { id: 'tsocat', label: 'TLS→TCP tsocat', argv: tsocat },
      { id: 'socat', label: 'TLS→TCP socat', argv: [socat] },
      { id: 'direct', label: 'no relay: TLS sender → bare OpenSSL TLS sink' },
    ];
    for (const v of rows) {
      v.sinkPort = await reservePort();
      v.samples = [];
      if (!v.argv) continue;
      v.port = await reservePort();
      v.relay = startRelay([...v.argv, `OPENSSL-LISTEN:${v.port},reuseaddr,fork,cert=${files.cert},key=${files.key},verify=0`, `TCP:127.0.0.1:${v.sinkPort}`]);
      relays.push(v.relay);
    }
    for (const v of rows) {
      if (!v.relay) continue;
      await waitListening(v.port).catch((e) => {
        throw new Error(`${v.label}: ${e.message}; relay said: ${v.relay.stderr().trim() || '(nothing)'}`);
      });
    }
    const end = Date.now() + deadlineMs;
    let done = 0;
    for (; done < runs && (done === 0 || Date.now() < end); done++) {
      for (const v of shuffled(rows)) {
        const pid = v.relay?.child.pid;
        const c0 = pid ? processCpu(pid) : 0;
        const t = await transferWith({
          sink: v.relay ? [sink.blast, ['-l', String(v.sinkPort)]] : [sender.tlsblast, ['-l', String(v.sinkPort), files.cert, files.key]],
          sender: [sender.tlsblast, [String(v.relay ? v.port : v.sinkPort), String(bytes)]],
          bytes,
          ms: 60000 + mb * 100,
          what: v.label,
        }).catch((e) => {
          throw new Error(`${e.message}${v.relay ? `; relay said: ${v.relay.stderr().trim() || '(nothing)'}` : ''}`);
        });
        if (pid) await childrenReaped(pid);
        const perGiB = bytes / GiB;
        v.samples.push({ mbps: t.mbps, relayCpu: pid ? (processCpu(pid) - c0) / perGiB : Number.NaN, senderCpu: t.senderCpu / perGiB, sinkCpu: t.sinkCpu / perGiB });
      }
    }
    const variants = rows.map((v) => {
      const pick = (k) => median(v.samples.map((s) => s[k]));
      const speeds = v.samples.map((s) => s.mbps);
      return { id: v.id, label: v.label, runs: v.samples.length, mbps: pick('mbps'), min: Math.min(...speeds), max: Math.max(...speeds), relayCpuPerGB: pick('relayCpu'), senderCpuPerGB: pick('senderCpu'), sinkCpuPerGB: pick('sinkCpu') };
    });
    return { mb, runs: done, variants };
  } finally {
    await Promise.all(relays.map((r) => r.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The main table's rows for a tlsThroughputRows result, made with the bench's `row(name, unit, socat, tsocat, higherIsBetter)`;
 * a skipped result prints its reason (stderr) and gives none.
 */
export function tlsThroughputTableRows(r, row) {
  if (r.skipped) {
    console.error(`TLS→TCP throughput row (C TLS sender) skipped: ${r.skipped}`);
    return [];
  }
  const by = Object.fromEntries(r.variants.map((v) => [v.id, v]));
  const f = (n) => n.toFixed(0);
  return [
    row(`TLS→TCP throughput (OPENSSL-LISTEN,fork; C TLS sender → C sink, ${r.mb} MB)`, 'MB/s', by.socat.mbps, by.tsocat.mbps, true, { runs: by.tsocat.runs }),
    row('TLS→TCP relay CPU per GB moved (utime+stime, children included)', 's/GB', by.socat.relayCpuPerGB, by.tsocat.relayCpuPerGB, false, { runs: by.tsocat.runs }),
    row(
      `no relay, C TLS sender → bare OpenSSL sink: ${f(by.direct.mbps)} MB/s (sender ${by.direct.senderCpuPerGB.toFixed(2)} s/GB) ÷ each relay's MB/s (> 1: not the generator's limit)`,
      'x',
      by.direct.mbps / by.socat.mbps,
      by.direct.mbps / by.tsocat.mbps,
      true,
      { runs: by.tsocat.runs },
    ),
  ];
}
