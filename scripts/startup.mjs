#!/usr/bin/env node
/**
 * Start-up against bare Node (issue 18, target 4): for each command line, N
 * interleaved pairs of `node -e 0` and `node bin/tsocat.js …`, the medians of
 * wall time and of CPU time (user+sys of the child, from getrusage(RUSAGE_CHILDREN)
 * before and after it, through koffi), and tsocat's medians over node's.
 *
 *   npm run build && node scripts/startup.mjs          # N=20 pairs per case
 *   node scripts/startup.mjs 40 --json
 *   node scripts/startup.mjs 20 --case version          # version | null | unix
 *   node scripts/startup.mjs 20 --bin /other/tree/bin/tsocat.js   # another build, e.g. before a change
 *
 * Cases: `-V`; `-u /dev/null /dev/null`; `echo hi | tsocat - UNIX-CONNECT:<sock>`
 * against a UNIX server in this process that reads to the end, then closes.
 * The order inside a pair alternates so neither side always runs second.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const PAIRS = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--bin') ?? 20);
const JSON_OUT = args.includes('--json');
const flagValue = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const only = flagValue('--case');
const BIN = flagValue('--bin') ?? join(ROOT, 'bin', 'tsocat.js');

// getrusage(RUSAGE_CHILDREN): the CPU of every child reaped so far, in microseconds
const koffi = createRequire(import.meta.url)('koffi');
const getrusage = koffi.load('libc.so.6').func('int getrusage(int who, _Out_ uint8_t *usage)');
const RUSAGE_CHILDREN = -1;
const usage = Buffer.alloc(256);
function childrenCpuUs() {
  if (getrusage(RUSAGE_CHILDREN, usage) !== 0) throw new Error('getrusage failed');
  const tv = (at) => Number(usage.readBigInt64LE(at)) * 1e6 + Number(usage.readBigInt64LE(at + 8));
  return tv(0) + tv(16);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Runs one command to its end; resolves with its wall ms and CPU ms, rejects on a failing status. */
function measure(argv, input) {
  return new Promise((resolve, reject) => {
    const cpu0 = childrenCpuUs();
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    if (input !== undefined) child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.once('exit', (code, signal) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      const cpu = (childrenCpuUs() - cpu0) / 1000;
      if (code !== 0) reject(new Error(`${argv.join(' ')}: exit ${code ?? signal}\n${stderr}`));
      else resolve({ wall, cpu });
    });
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-startup-'));
  const sock = join(dir, 'sock');
  // the UNIX peer: takes everything, then closes (so the relay ends on both EOFs, not on -t)
  const server = createServer((c) => {
    c.on('data', () => {});
    c.on('end', () => c.end());
    c.on('error', () => {});
  });
  await new Promise((r) => server.listen(sock, r));
  const tsocat = [process.execPath, BIN];
  const cases = [
    { id: 'version', name: 'tsocat -V', argv: [...tsocat, '-V'] },
    { id: 'null', name: 'tsocat -u /dev/null /dev/null', argv: [...tsocat, '-u', '/dev/null', '/dev/null'] },
    { id: 'unix', name: 'echo hi | tsocat - UNIX-CONNECT:sock', argv: [...tsocat, '-', `UNIX-CONNECT:${sock}`], input: 'hi\n' },
  ].filter((c) => !only || c.id === only);
  const bare = [process.execPath, '-e', '0'];
  const results = [];
  try {
    for (const c of cases) {
      const node = { wall: [], cpu: [] };
      const ts = { wall: [], cpu: [] };
      for (let i = 0; i < PAIRS; i++) {
        const order = i % 2 ? [[bare, undefined, node], [c.argv, c.input, ts]] : [[c.argv, c.input, ts], [bare, undefined, node]];
        for (const [argv, input, into] of order) {
          const m = await measure(argv, input);
          into.wall.push(m.wall);
          into.cpu.push(m.cpu);
        }
      }
      const r = {
        case: c.name,
        pairs: PAIRS,
        nodeWallMs: median(node.wall),
        tsocatWallMs: median(ts.wall),
        nodeCpuMs: median(node.cpu),
        tsocatCpuMs: median(ts.cpu),
      };
      r.wallRatio = r.tsocatWallMs / r.nodeWallMs;
      r.cpuRatio = r.tsocatCpuMs / r.nodeCpuMs;
      results.push(r);
    }
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (JSON_OUT) {
    console.log(JSON.stringify({ node: process.version, results }, null, 2));
    return;
  }
  console.log(`node ${process.version}; medians of ${PAIRS} interleaved pairs against \`node -e 0\`; ms`);
  const f = (n) => n.toFixed(1);
  const lines = [['command', 'node wall', 'tsocat wall', 'ratio', 'node cpu', 'tsocat cpu', 'ratio']];
  for (const r of results) lines.push([r.case, f(r.nodeWallMs), f(r.tsocatWallMs), r.wallRatio.toFixed(2), f(r.nodeCpuMs), f(r.tsocatCpuMs), r.cpuRatio.toFixed(2)]);
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const l of lines) console.log(l.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  '));
}

main().catch((err) => {
  console.error(`startup: ${err.message}`);
  process.exit(1);
});
