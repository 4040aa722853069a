#!/usr/bin/env node
/**
 * CPU time a fork relay spends per connection (issue 18, target 2): the
 * relay's user+sys (/proc/<pid>/stat) over N short connections through
 * `TCP-LISTEN:<p>,reuseaddr,fork TCP:127.0.0.1:<echo>`, divided by N. On a
 * loaded machine this is steadier than connections per second, which depend on
 * what else gets the CPUs.
 *
 *   npm run build && node scripts/fork-cpu.mjs            # N=2000, sequential and 20 concurrent
 *   node scripts/fork-cpu.mjs 4000 --bin /other/tree/bin/tsocat.js
 *   node scripts/fork-cpu.mjs 2000 --cpu-prof /tmp/dir    # the relay runs under node --cpu-prof
 *   node scripts/fork-cpu.mjs 2000 --parallel 1           # only the sequential run
 *   node scripts/fork-cpu.mjs 2000 --heap-prof /tmp/dir   # the relay's allocations, sampled (node --heap-prof)
 *   node scripts/fork-cpu.mjs 2000 --socat /usr/bin/socat # socat in its place (its children's CPU counts too)
 *   node scripts/fork-cpu.mjs 500 --target EXEC:cat        # another address 2 (default: TCP to the echo server)
 *
 * The echo server and the clients run in other processes (this script, again),
 * so the relay's figure is its own. Each client connection sends 16 bytes, waits
 * for them back and closes. Loopback only; every loop is bounded in count and
 * time; only processes started here are stopped, by pid.
 */
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reservePort, waitListening } from '../bench/ports.mjs';
import { processCpu } from '../bench/procs.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const flagValue = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (args[0] === '--echo') {
  const server = createServer((c) => c.pipe(c));
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
} else if (args[0] === '--clients') {
  const [port, count, parallel] = args.slice(1).map(Number);
  const one = () =>
    new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' });
      let got = 0;
      const t = setTimeout(() => reject(new Error('exchange timed out')), 10000);
      s.on('error', reject);
      s.on('data', (d) => {
        got += d.length;
        if (got >= 16) {
          clearTimeout(t);
          s.destroy();
          resolve();
        }
      });
      s.write('0123456789abcdef');
    });
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
} else {
  await main();
}

/** user+sys of a process and of the children it has reaped (socat's per-peer processes), in ms. */
function cpuMs(pid) {
  return processCpu(pid) * 1000;
}

function run(argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: 'inherit' });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')}: exit ${code}`))));
  });
}

async function main() {
  const N = Number(args.find((a, i) => /^\d+$/.test(a) && !['--bin', '--cpu-prof', '--heap-prof', '--parallel', '--socat', '--target'].includes(args[i - 1])) ?? 2000);
  const parallels = flagValue('--parallel') ? [Number(flagValue('--parallel'))] : [1, 20];
  const bin = flagValue('--bin') ?? join(ROOT, 'bin', 'tsocat.js');
  const profDir = flagValue('--cpu-prof');
  const echo = spawn(process.execPath, [SELF, '--echo'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const echoPort = await new Promise((r) => echo.stdout.once('data', (d) => r(Number(String(d).trim()))));
  const port = await reservePort();
  const heapDir = flagValue('--heap-prof');
  const nodeArgs = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : heapDir ? ['--heap-prof', '--heap-prof-dir', heapDir, '--heap-prof-interval', '4096'] : [];
  const addresses = [`TCP-LISTEN:${port},reuseaddr,fork`, flagValue('--target') ?? `TCP:127.0.0.1:${echoPort}`];
  const socat = flagValue('--socat');
  const [command, ...relayArgs] = socat ? [socat, ...addresses] : [process.execPath, ...nodeArgs, bin, ...addresses];
  const relay = spawn(command, relayArgs, { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitListening(port);
    await run([SELF, '--clients', String(port), '50', '1']); // warm-up, not counted
    await sleep(1500); // past the relay's rest check (at-rest.ts), which runs once after a burst
    const rows = [];
    for (const parallel of parallels) {
      const c0 = cpuMs(relay.pid);
      const t0 = performance.now();
      await run([SELF, '--clients', String(port), String(N), String(parallel)]);
      const secs = (performance.now() - t0) / 1000;
      const c1 = cpuMs(relay.pid);
      rows.push({ parallel, connections: N, relayCpuMs: c1 - c0, cpuMsPerConnection: (c1 - c0) / N, connPerSec: N / secs });
      await sleep(1500);
    }
    for (const r of rows) {
      console.log(
        `${r.parallel === 1 ? 'sequential   ' : `${r.parallel} concurrent`}  ${r.connections} conns  relay CPU ${r.relayCpuMs} ms  = ${r.cpuMsPerConnection.toFixed(3)} ms/conn  (${r.connPerSec.toFixed(0)} conn/s wall)`,
      );
    }
  } finally {
    relay.kill('SIGTERM');
    echo.kill('SIGTERM');
    await new Promise((r) => relay.once('exit', r));
  }
}
