/**
 * The latency rows of `npm run bench`: request/response round trips through
 * `TCP-LISTEN:P,fork,reuseaddr TCP:127.0.0.1:<echo>`, timed by a C client
 * (rtt.c, compiled here with gcc) in its own process, against a C echo server
 * (../idle/hold.c) in another; tsocat and socat, and the same client straight
 * to the echo with no relay (the floor: what the client, the echo and loopback
 * cost by themselves). Each round runs the three in a new random order, one
 * connection each; per row the median over rounds of each run's median and p99.
 *
 * Loopback only; every run is bounded in count and time; only the relays and
 * programs started here are stopped, by pid.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC, median, runC, shuffled, within } from '../cc.mjs';
import { compileHold, startEcho } from '../echo.mjs';
import { reservePort, waitListening } from '../ports.mjs';
import { startRelay } from '../procs.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SIZE = 64;
const WARMUP = 200;

/**
 * `tools` maps 'socat' and 'tsocat' to their argv; `count` round trips per run, `runs` rounds.
 * Returns { skipped } without gcc, else { count, size, runs, rows: [{ id, label, medianUs, p99Us, runs }] }.
 */
export async function latencyRows({ tools, count, runs }) {
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-bench-lat-'));
  const stops = [];
  try {
    const rtt = compileC(join(HERE, 'rtt.c'), dir, 'rtt');
    if (rtt.skipped) return { skipped: rtt.skipped };
    const hold = compileHold(dir);
    if (hold.skipped) return { skipped: hold.skipped };
    const echo = await startEcho(hold.bin);
    stops.push(echo.stop);
    const rows = [{ id: 'direct', label: 'C client → C echo, no relay (the floor)', port: echo.port, samples: [] }];
    for (const tool of ['socat', 'tsocat']) {
      const port = await reservePort();
      const relay = startRelay([...tools[tool], `TCP-LISTEN:${port},fork,reuseaddr`, `TCP:127.0.0.1:${echo.port}`]);
      stops.push(() => relay.stop());
      await waitListening(port).catch((e) => {
        throw new Error(`latency, ${tool}: ${e.message}; relay said: ${relay.stderr().trim() || '(nothing)'}`);
      });
      rows.push({ id: tool, label: `${tool}: C client → TCP-LISTEN,fork → TCP → C echo`, port, relay, samples: [] });
    }
    // 10 s per reply at most inside rtt; the whole run gets a generous bound on top
    const perRunMs = 30000 + count * 5;
    for (let round = 0; round < runs; round++) {
      for (const r of shuffled(rows)) {
        const client = runC([rtt.bin, String(r.port), String(count), String(WARMUP), String(SIZE)]);
        const res = await within(client.done, perRunMs, `latency, ${r.label}`, () => client.child.kill('SIGKILL'));
        if (res.code !== 0) throw new Error(`latency, ${r.label}: ${res.err || `client exited ${res.code}`}${r.relay ? `; relay said: ${r.relay.stderr().trim() || '(nothing)'}` : ''}`);
        const [med, p99] = res.out.trim().split(/\s+/).map(Number);
        r.samples.push({ med, p99 });
      }
    }
    return {
      count,
      size: SIZE,
      runs,
      rows: rows.map((r) => ({ id: r.id, label: r.label, runs: r.samples.length, medianUs: median(r.samples.map((s) => s.med)), p99Us: median(r.samples.map((s) => s.p99)) })),
    };
  } finally {
    for (const stop of stops.reverse()) await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
