/**
 * The UDP rate rows of `npm run bench`: UDP-LISTEN → UDP echo, 16 packets in
 * flight, driven by a C client and a C echo (udpload.c, compiled here with gcc
 * into a temporary directory), separate processes. The bench's own Node
 * process as client and echo took about as much CPU per packet as the relay
 * it measured, on the same two cores: measured under load, tsocat/socat was
 * 0.59 (64 B) with it and 1.29 with the C generator, in interleaved runs.
 *
 * Rows: socat, tsocat, and the client straight into the echo (no relay, the
 * reference: how fast the generator alone goes). Each round runs every row
 * once in a new random order; medians over the rounds. Per row: packets per
 * second (both directions counted, as the in-process row counts them) and
 * the relay's CPU microseconds per packet (utime + stime from /proc/PID/stat,
 * its start-up left out).
 *
 * Loopback only; every wait is bounded; the relays and the echo started here
 * are the only processes stopped, by pid.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reserveUdpPort, waitUdpBound } from '../ports.mjs';
import { processCpu, startRelay } from '../procs.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const WINDOW = 16;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const shuffled = (xs) => {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
};

function compileLoad(dir) {
  const gcc = spawnSync('sh', ['-c', 'command -v gcc'], { encoding: 'utf8' }).stdout.trim();
  if (!gcc) return { skipped: 'gcc not found (the C client and echo are compiled from bench/udp/udpload.c)' };
  const out = join(dir, 'udpload');
  const r = spawnSync(gcc, ['-O2', '-o', out, join(HERE, 'udpload.c')], { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) return { skipped: `gcc could not compile bench/udp/udpload.c: ${(r.stderr || String(r.error ?? r.signal)).trim().split('\n')[0]}` };
  return { load: out };
}

/** Starts the C echo; resolves with its port and a stop(). */
async function startEcho(load) {
  const child = spawn(load, ['-e'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('udpload -e printed no port in 5 s')), 5000);
    child.stdout.once('data', (d) => {
      clearTimeout(timer);
      resolve(Number(String(d).trim()));
    });
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One run of the client against `port`: packets per second, both directions counted. */
function clientRun(load, port, packets, size) {
  const r = spawnSync(load, [String(port), String(packets), String(size), String(WINDOW)], { encoding: 'utf8', timeout: 120000 });
  const [got, secs] = (r.stdout ?? '').trim().split(' ').map(Number);
  if (r.status !== 0 || !(got > 0 && secs > 0)) throw new Error(`udpload against port ${port}: ${(r.stderr || String(r.error ?? r.signal)).trim()}`);
  return (2 * got) / secs;
}

/**
 * `relays`: { socat: argv, tsocat: argv } (each without its two addresses).
 * Returns { skipped } without gcc, else { sizes: { [size]: { socat, tsocat, direct, socatCpuUs, tsocatCpuUs } } }.
 */
export async function udpRateRows({ relays, packets, runs, sizes }) {
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-bench-udp-'));
  try {
    const compiled = compileLoad(dir);
    if (compiled.skipped) return compiled;
    const echo = await startEcho(compiled.load);
    try {
      const result = {};
      for (const size of sizes) {
        const pps = { socat: [], tsocat: [], direct: [] };
        const cpu = { socat: [], tsocat: [] };
        for (let i = 0; i < runs; i++) {
          for (const id of shuffled(Object.keys(pps))) {
            if (id === 'direct') {
              pps.direct.push(clientRun(compiled.load, echo.port, packets, size));
              continue;
            }
            const port = await reserveUdpPort();
            const relay = startRelay([...relays[id], '-b', '65536', `UDP-LISTEN:${port},bind=127.0.0.1`, `UDP:127.0.0.1:${echo.port}`]);
            try {
              await waitUdpBound(port);
              const before = processCpu(relay.child.pid);
              const rate = clientRun(compiled.load, port, packets, size);
              pps[id].push(rate);
              // each round trip is two packets relayed
              cpu[id].push(((processCpu(relay.child.pid) - before) / (2 * packets)) * 1e6);
            } finally {
              await relay.stop();
            }
          }
        }
        result[size] = {
          socat: median(pps.socat),
          tsocat: median(pps.tsocat),
          direct: median(pps.direct),
          socatCpuUs: median(cpu.socat),
          tsocatCpuUs: median(cpu.tsocat),
        };
      }
      return { sizes: result };
    } finally {
      await echo.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
