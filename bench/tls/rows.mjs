/**
 * The TLS handshake rows of `npm run bench`: handshakes per second through
 * `OPENSSL-LISTEN:P,fork,reuseaddr,cert=…,key=…,verify=0 TCP:127.0.0.1:<echo>`
 * (tsocat and socat, one RSA-2048 certificate for both), driven by
 * `openssl s_time` clients, C programs in their own processes: 2 and 20 of
 * them at once with -new (a full handshake each), and 2 with -reuse -tls1_2
 * (session resumption; under TLS 1.3 s_time reads nothing after the handshake,
 * so its session tickets never arrive and no client could resume). The same
 * clients against a bare Node TLS server piping to the same echo
 * (node-server.mjs) give the ceiling: a relay built on Node's TLS reaching it
 * does nothing per handshake beyond Node's own work, and a ceiling above every
 * relay row shows the clients are not what limits them (a relay row at or above
 * it is client-bound or noise). A row's rate is the sum
 * over its clients of connections / the client's wall time; medians over
 * rounds, each round running every row once in a new random order. The C echo
 * server is ../idle/hold.c.
 *
 * Loopback only; every client run is bounded in time; only the relays and
 * programs started here are stopped, by pid.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { endOf, median, runC, shuffled, within } from '../cc.mjs';
import { compileHold, startEcho } from '../echo.mjs';
import { reservePort, waitListening } from '../ports.mjs';
import { startRelay } from '../procs.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const CERT_TYPE = 'RSA-2048';

export const TLS_MODES = [
  { id: 'new-2', args: ['-new'], clients: 2, label: '2 s_time -new' },
  { id: 'new-20', args: ['-new'], clients: 20, label: '20 s_time -new' },
  { id: 'reuse-2', args: ['-reuse', '-tls1_2'], clients: 2, label: '2 s_time -reuse -tls1_2' },
];

/** One s_time client for `secs` seconds: { conns, wall, resumed } (resumed: connections s_time marked "r"). */
function sTime(port, mode, secs) {
  const t0 = process.hrtime.bigint();
  const child = spawn('openssl', ['s_time', '-connect', `127.0.0.1:${port}`, ...mode.args, '-time', String(secs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const done = new Promise((resolve, reject) =>
    // the summary line can still be in the pipe when the process has exited
    endOf(child).then(([code]) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const m = out.match(/(\d+) connections in [\d.]+s;/);
      if (code !== 0 || !m || Number(m[1]) === 0) return reject(new Error(`s_time ${mode.args.join(' ')} exited ${code} with ${m ? m[1] : 'no'} connections to port ${port}: ${err.trim().split('\n')[0] || '(no message)'}; it printed: ${out.trim().split('\n').slice(-3).join(' / ')}`));
      const progress = out.split('\n').find((l) => /^[r*t3]+$/.test(l)) ?? '';
      resolve({ conns: Number(m[1]), wall, resumed: [...progress].filter((c) => c === 'r').length });
    }),
  );
  return within(done, secs * 1000 + 30000, `s_time against port ${port}`, () => child.kill('SIGKILL'));
}

/**
 * `tools` maps 'socat' and 'tsocat' to their argv; `secs` per s_time run; `runs` rounds.
 * Returns { skipped } without openssl or gcc, else { certType, secs, runs, rows: [{ target, mode, rate, resumedShare, runs }] }.
 */
export async function tlsRows({ tools, secs, runs }) {
  if (spawnSync('openssl', ['version']).status !== 0) return { skipped: 'the openssl command is missing (it makes the certificate and its s_time drives these rows)' };
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-bench-tls-'));
  const stops = [];
  try {
    const hold = compileHold(dir);
    if (hold.skipped) return { skipped: hold.skipped };
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    if (made.status !== 0) throw new Error('openssl could not make the RSA-2048 test certificate');
    const echo = await startEcho(hold.bin);
    stops.push(echo.stop);
    const targets = [];
    for (const tool of ['socat', 'tsocat']) {
      const port = await reservePort();
      const relay = startRelay([...tools[tool], `OPENSSL-LISTEN:${port},fork,reuseaddr,cert=${cert},key=${key},verify=0`, `TCP:127.0.0.1:${echo.port}`]);
      stops.push(() => relay.stop());
      await waitListening(port).catch((e) => {
        throw new Error(`TLS rows, ${tool}: ${e.message}; relay said: ${relay.stderr().trim() || '(nothing)'}`);
      });
      targets.push({ id: tool, port });
    }
    const nodePort = await reservePort();
    const bare = runC([process.execPath, join(HERE, 'node-server.mjs'), String(nodePort), cert, key, String(echo.port)]);
    stops.push(() => bare.stop());
    await within(bare.firstLine, 10000, 'bare Node TLS server', () => bare.child.kill('SIGKILL'));
    targets.push({ id: 'node', port: nodePort });
    const cells = TLS_MODES.flatMap((mode) => targets.map((t) => ({ target: t.id, port: t.port, mode, rates: [], resumed: [] })));
    for (let round = 0; round < runs; round++) {
      for (const c of shuffled(cells)) {
        const clients = await Promise.all(Array.from({ length: c.mode.clients }, () => sTime(c.port, c.mode, secs)));
        c.rates.push(clients.reduce((a, r) => a + r.conns / r.wall, 0));
        c.resumed.push(clients.reduce((a, r) => a + r.resumed, 0) / clients.reduce((a, r) => a + r.conns, 0));
      }
    }
    return {
      certType: CERT_TYPE,
      secs,
      runs,
      rows: cells.map((c) => ({ target: c.target, mode: c.mode.id, label: c.mode.label, rate: median(c.rates), resumedShare: median(c.resumed), runs: c.rates.length })),
    };
  } finally {
    for (const stop of stops.reverse()) await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
