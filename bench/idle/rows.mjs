/**
 * The idle-peer rows of `npm run bench`: what each connected but idle peer of
 * `TCP-LISTEN:P,fork,reuseaddr TCP:127.0.0.1:<echo>` costs in memory. A C
 * program (hold.c, compiled here with gcc) in its own process opens N
 * connections through the relay, each relayed end to end (one byte out and
 * back), and holds them idle; another copy of it is the echo server. Per peer:
 * (PSS of the relay's whole process tree with N peers − the same with none) / N,
 * PSS summed over the relay and every descendant (/proc/PID/smaps_rollup), so
 * socat's forked children and tsocat's sessions in one process are counted
 * alike. Also the listener with no peers: its RSS, against a bare
 * `node -e 'setInterval(()=>{},1e9)'` (the floor any Node program starts from).
 * Each round runs both tools in a new random order; medians over rounds.
 *
 * Descriptors: each C end holds N, and the relay as many per peer as it
 * needs (socat: 2 in each forked child; tsocat: all in one process). A probe
 * with a few peers first counts the most descriptors one process of each
 * relay holds per peer; all programs run under `ulimit -n` raised to what N
 * peers need (at most the hard limit), and when the hard limit is too low for
 * N, N is lowered to fit and the result says why. Also reported: descriptors
 * per peer over the whole tree. Loopback only; every wait is bounded in
 * count and time; only the processes started here are stopped, by pid.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, runC, shuffled, within } from '../cc.mjs';
import { compileHold, startEcho } from '../echo.mjs';
import { reservePort, waitListening } from '../ports.mjs';
import { processTree, procKiB, startRelay, treePssKiB } from '../procs.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Time a process gets after it listens (or all peers are up) before its memory is read. */
const SETTLE_MS = 1000;

/** Descriptors besides the peers' that a relay or C end may hold. */
const FD_SPARE = 256;
/** Peers of the probe that counts descriptors per peer. */
const PROBE_PEERS = 50;

/** The hard RLIMIT_NOFILE the programs can be raised to (`ulimit -Hn`). */
function hardFdLimit() {
  const out = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? 1_048_576 : Number(out);
}

/** Descriptors open in `pid`: the most of any one process of its tree, and the sum over the tree. */
function descriptors(pid) {
  let most = 0;
  let sum = 0;
  for (const p of processTree(pid)) {
    let n = 0;
    try {
      n = readdirSync(`/proc/${p}/fd`).length;
    } catch {
      // the process is gone
    }
    most = Math.max(most, n);
    sum += n;
  }
  return { most, sum };
}

/** Waits (bounded) until `pid` has no descendant left, so no forked child of a past round is counted or left behind. */
async function childrenGone(pid, ms = 20000) {
  const end = Date.now() + ms;
  for (let i = 0; i < 2000 && Date.now() < end; i++) {
    if (processTree(pid).length <= 1) return;
    await sleep(10);
  }
  throw new Error(`relay ${pid} still has children ${ms} ms after its peers closed`);
}

/** RSS (KiB) of a bare Node process that does nothing, read after the same settle time as the listeners. */
async function bareNodeRssKiB() {
  const bare = startRelay([process.execPath, '-e', 'setInterval(()=>{},1e9)']);
  try {
    await sleep(SETTLE_MS);
    return procKiB(bare.child.pid, 'status', 'VmRSS');
  } finally {
    await bare.stop();
  }
}

/**
 * `tools` maps 'socat' and 'tsocat' to their argv; `peers` idle connections per run, `runs` rounds.
 * Returns { skipped } without gcc, else { peers, note, runs, tools: { socat: {...}, tsocat: {...} }, bareNodeRssKiB }
 * (note: why fewer peers than asked, when so).
 */
export async function idleRows({ tools, peers, runs }) {
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-bench-idle-'));
  const stops = [];
  try {
    const hold = compileHold(dir);
    if (hold.skipped) return { skipped: hold.skipped };
    const hard = hardFdLimit();
    /** Programs run under `ulimit -n <limit>`, set once the probe has counted what N peers need. */
    let limit = Math.min(hard, PROBE_PEERS * 16 + FD_SPARE);
    const wrap = () => ['sh', '-c', `ulimit -n ${limit} && exec "$@"`, 'sh'];
    const echo = await startEcho(hold.bin, ['sh', '-c', `ulimit -n ${hard} && exec "$@"`, 'sh']);
    stops.push(echo.stop);

    /** One relay of `tool` with `n` idle peers: its memory and descriptors without and with them. */
    const measure = async (tool, n) => {
      const port = await reservePort();
      const relay = startRelay([...wrap(), ...tools[tool], `TCP-LISTEN:${port},fork,reuseaddr`, `TCP:127.0.0.1:${echo.port}`]);
      try {
        await waitListening(port).catch((e) => {
          throw new Error(`idle peers, ${tool}: ${e.message}; relay said: ${relay.stderr().trim() || '(nothing)'}`);
        });
        await sleep(SETTLE_MS);
        const pid = relay.child.pid;
        const idleRss = procKiB(pid, 'status', 'VmRSS');
        const idlePss = treePssKiB(pid);
        const idleFds = descriptors(pid);
        const connectSecs = 60 + n / 50; // 50 connections a second would still finish
        const clients = runC([hold.bin, String(port), String(n), String(connectSecs)], ['sh', '-c', `ulimit -n ${hard} && exec "$@"`, 'sh']);
        try {
          await within(clients.firstLine, connectSecs * 1000 + 10000, `idle peers, ${tool}`, () => clients.child.kill('SIGKILL')).catch((e) => {
            throw new Error(`${e.message}; relay said: ${relay.stderr().trim().split('\n').slice(-2).join(' | ') || '(nothing)'}`);
          });
          await sleep(SETTLE_MS);
          const busyPss = treePssKiB(pid);
          const busyFds = descriptors(pid);
          return {
            idleRss,
            idlePss,
            busyPss,
            perPeer: (busyPss - idlePss) / n,
            fdsPerPeer: (busyFds.sum - idleFds.sum) / n,
            processFdsPerPeer: (busyFds.most - idleFds.most) / n,
            processes: processTree(pid).length,
          };
        } finally {
          await clients.stop();
          await childrenGone(pid);
        }
      } finally {
        await relay.stop();
      }
    };

    // the probe: how many descriptors one process of each relay holds per peer
    let perProcess = 0;
    for (const tool of ['socat', 'tsocat']) perProcess = Math.max(perProcess, (await measure(tool, Math.min(PROBE_PEERS, peers))).processFdsPerPeer);
    const need = Math.ceil(perProcess * peers) + FD_SPARE;
    let note;
    if (need > hard) {
      const fit = Math.floor((hard - FD_SPARE) / perProcess);
      if (fit < 1) return { skipped: `the hard descriptor limit ${hard} leaves no room for an idle peer` };
      note = `${fit} peers instead of ${peers}: one relay process holds ${perProcess.toFixed(1)} descriptors per peer, and the hard RLIMIT_NOFILE is ${hard} (${need} needed)`;
      peers = fit;
    }
    limit = Math.min(hard, Math.max(need, limit));
    const samples = { socat: [], tsocat: [] };
    const bare = [];
    for (let round = 0; round < runs; round++) {
      bare.push(await bareNodeRssKiB());
      for (const tool of shuffled(['socat', 'tsocat'])) samples[tool].push(await measure(tool, peers));
    }
    const summary = (xs) => ({
      runs: xs.length,
      perPeerKiB: median(xs.map((s) => s.perPeer)),
      idlePssKiB: median(xs.map((s) => s.idlePss)),
      busyPssKiB: median(xs.map((s) => s.busyPss)),
      idleRssKiB: median(xs.map((s) => s.idleRss)),
      processes: median(xs.map((s) => s.processes)),
      fdsPerPeer: median(xs.map((s) => s.fdsPerPeer)),
      processFdsPerPeer: median(xs.map((s) => s.processFdsPerPeer)),
    });
    return { peers, note, runs, tools: { socat: summary(samples.socat), tsocat: summary(samples.tsocat) }, bareNodeRssKiB: median(bare) };
  } finally {
    for (const stop of stops.reverse()) await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
