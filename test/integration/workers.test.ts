/**
 * --workers <n>|auto (tsocat's own flag): a fork listener served by n
 * processes that share its one listening socket. Real processes, real sockets
 * on 127.0.0.1; each SYSTEM program prints its parent's pid ($PPID), which is
 * the tsocat process that accepted the peer.
 */
import { existsSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, exited, tempDir, tsocat, waitFor } from '../helpers.js';
import { certificatesForFile } from '../tls-peers.js';

const start = backgroundStarter();
const tls = certificatesForFile();
const sockets: Socket[] = [];
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of cleanups.splice(0)) c();
});

/** A client that keeps what it receives; `tls`: over TLS, any certificate taken. */
function client(target: number | string, tls = false): Promise<{ socket: Socket; received: () => string }> {
  return new Promise((resolve, reject) => {
    const socket = tls
      ? tlsConnect({ port: target as number, host: '127.0.0.1', rejectUnauthorized: false })
      : typeof target === 'number'
        ? connect(target, '127.0.0.1')
        : connect(target);
    sockets.push(socket);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
    });
    socket.once('error', reject);
    socket.once(tls ? 'secureConnect' : 'connect', () => resolve({ socket, received: () => text }));
  });
}

/** Starts `tsocat -d -d -d <flags> <listen> <program>` and waits for its port (or socket file) and every worker. */
async function team(flags: string[], listen: string, program = "SYSTEM:'echo $PPID; cat'") {
  const p = start(['-d', '-d', '-d', ...flags, listen, program]);
  const workers = Number(flags[flags.indexOf('--workers') + 1] ?? 1);
  await waitFor(() => /listening on /.test(p.errors()) && (p.errors().match(/ worker \d+ started with pid \d+/g) ?? []).length === workers - 1, 10000, () => `team up: ${p.errors()}`);
  const port = Number(/listening on AF=2 127\.0\.0\.1:(\d+)/.exec(p.errors())?.[1] ?? 0);
  const workerPids = [...p.errors().matchAll(/ worker \d+ started with pid (\d+)/g)].map((m) => Number(m[1]));
  return { p, port, workerPids };
}

/** The pid that served a peer: the first line its program wrote. */
async function servedBy(target: number | string, tls = false): Promise<number> {
  const c = await client(target, tls);
  await waitFor(() => c.received().includes('\n'), 5000, 'the program\'s $PPID');
  c.socket.destroy();
  return Number(c.received().split('\n')[0]);
}

/** Connects, a few at a time, until peers were served by `want` different processes (at most 60 peers). */
async function servers(target: number | string, want: number, tls = false): Promise<Set<number>> {
  const seen = new Set<number>();
  for (let round = 0; round < 15 && seen.size < want; round++) {
    for (const pid of await Promise.all([1, 2, 3, 4].map(() => servedBy(target, tls)))) seen.add(pid);
  }
  return seen;
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);

describe('--workers', () => {
  it('--workers 2 TCP-LISTEN:0,fork: one port (bound once, by the parent), peers served by both processes; SIGTERM ends both with 143, as one process', async () => {
    const { p, port, workerPids } = await team(['--workers', '2'], 'TCP-LISTEN:0,bind=127.0.0.1,fork');
    expect(workerPids).toHaveLength(1);
    const worker = workerPids[0] as number;
    expect(p.errors().match(/listening on /g)).toHaveLength(1);
    expect(await servers(port, 2)).toEqual(new Set([p.pid, worker]));
    // SIGUSR1 reaches every process: each logs its own counters
    p.kill('SIGUSR1');
    await waitFor(() => [p.pid, worker].every((pid) => p.errors().includes(`tsocat[${pid}] N socat_signal_logstats(): finishing signal 10`)), 5000, 'both processes\' statistics');
    const t0 = Date.now();
    p.kill('SIGTERM');
    expect(await exited(p, 3000)).toBe(143);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(alive(worker)).toBe(false);
    expect(p.errors()).toContain(`tsocat[${p.pid}] W exiting on signal 15`);
    expect(p.errors()).toContain(`tsocat[${worker}] W exiting on signal 15`);
  });

  it('--workers 2 UNIX-LISTEN:<path>,fork: both processes serve the one socket file, which the parent alone removes at SIGINT (130)', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'sock');
    const { p, workerPids } = await team(['--workers', '2'], `UNIX-LISTEN:${path},fork`);
    expect(await servers(path, 2)).toEqual(new Set([p.pid, workerPids[0]]));
    p.kill('SIGINT');
    expect(await exited(p, 3000)).toBe(130);
    expect(existsSync(path)).toBe(false);
    expect(p.errors()).not.toMatch(/ E /);
  });

  it('--workers 2 OPENSSL-LISTEN:0,fork: TLS peers served by both processes, with the one certificate', async () => {
    const { server, serverKey } = tls.certs();
    const { p, port, workerPids } = await team(['--workers', '2'], `OPENSSL-LISTEN:0,bind=127.0.0.1,fork,cert=${server},key=${serverKey},verify=0`);
    expect(await servers(port, 2, true)).toEqual(new Set([p.pid, workerPids[0]]));
  });

  it('max-children=2 with --workers 2 counts sessions across both processes: a third peer waits in the backlog (not refused) until one ends', async () => {
    const { port } = await team(['--workers', '2'], 'TCP-LISTEN:0,bind=127.0.0.1,fork,max-children=2');
    const first = await client(port);
    const second = await client(port);
    await waitFor(() => first.received().includes('\n') && second.received().includes('\n'), 5000, 'two sessions');
    const third = await client(port);
    let closed = false;
    third.socket.once('close', () => {
      closed = true;
    });
    // both processes had the time to take it, were slots counted per process
    await new Promise((r) => setTimeout(r, 800));
    expect(third.received()).toBe('');
    expect(closed).toBe(false);
    first.socket.destroy();
    await waitFor(() => third.received().includes('\n'), 5000, 'the third session once a slot is free');
  });

  it('--log-format json: one stream, each line names its process with worker (0 the parent, 1 the worker)', async () => {
    const p = start(['-d', '-d', '--log-format', 'json', '--workers', '2', 'TCP-LISTEN:0,bind=127.0.0.1,fork', "SYSTEM:'echo $PPID'"]);
    await waitFor(() => /listening on /.test(p.errors()), 10000, 'listening');
    const port = Number(/listening on AF=2 127\.0\.0\.1:(\d+)/.exec(p.errors())?.[1]);
    const pids = await servers(port, 2);
    expect(pids.size).toBe(2);
    await waitFor(() => p.errors().split('\n').filter((l) => l.includes('session with')).length >= 2, 5000, 'session lines');
    const lines = p.errors().trim().split('\n').map((l) => JSON.parse(l) as { pid: number; worker?: number });
    expect(lines.every((l) => l.worker === (l.pid === p.pid ? 0 : 1))).toBe(true);
    expect(new Set(lines.map((l) => l.worker))).toEqual(new Set([0, 1]));
  });

  it('--workers=auto starts one process per core (os.availableParallelism()); programs it starts see no TSOCAT_WORKER', async () => {
    const cores = availableParallelism();
    const p = start(['-d', '-d', '-d', '--workers=auto', 'TCP-LISTEN:0,bind=127.0.0.1,fork', "SYSTEM:'echo $PPID x$TSOCAT_WORKER'"]);
    await waitFor(() => /listening on /.test(p.errors()) && (p.errors().match(/ worker \d+ started with pid/g) ?? []).length === cores - 1, 10000, () => `team up: ${p.errors()}`);
    const port = Number(/listening on AF=2 127\.0\.0\.1:(\d+)/.exec(p.errors())?.[1]);
    const lines: string[] = [];
    const line = async () => {
      const c = await client(port);
      await waitFor(() => c.received().includes('\n'), 5000, 'the program\'s line');
      lines.push(c.received().trim());
    };
    const pids = () => new Set(lines.map((l) => l.split(' ')[0])).size;
    for (let round = 0; round < 15 && pids() < Math.min(cores, 2); round++) await Promise.all([1, 2, 3, 4].map(line));
    expect(pids()).toBe(Math.min(cores, 2));
    expect(lines.every((l) => / x$/.test(l))).toBe(true);
  });

  it('--workers 1 is one process, as without the flag: every peer is served by it', async () => {
    const { p, port } = await team(['--workers', '1'], 'TCP-LISTEN:0,bind=127.0.0.1,fork');
    expect(await servers(port, 2)).toEqual(new Set([p.pid]));
    expect(p.errors()).not.toMatch(/ worker /);
  });

  it('a worker that ends on its own ends the team, with its status and one E line', async () => {
    const { p, workerPids } = await team(['--workers', '2'], 'TCP-LISTEN:0,bind=127.0.0.1,fork');
    process.kill(workerPids[0] as number, 'SIGKILL');
    expect(await exited(p, 3000)).toBe(137);
    expect(p.errors()).toContain(`E worker 1 (pid ${workerPids[0]}) ended with signal SIGKILL`);
  });

  it('a port in use is reported once, by the parent, before any worker starts', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    cleanups.push(() => busy.close());
    const port = (busy.address() as { port: number }).port;
    const r = await tsocat(['-d', '-d', '-d', '--workers', '2', `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr=0`, 'SYSTEM:true']);
    expect(r.status).toBe(1);
    expect(r.stderr.match(/ E bind\(AF=2 127\.0\.0\.1:\d+\): Address already in use\n/g)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/worker/);
  });

  it.each([
    [['--workers', '0', 'TCP-LISTEN:0,fork', 'SYSTEM:true'], 'option --workers: invalid value "0" (a number from 1 to 1024, or auto)'],
    [['--workers', 'x', 'TCP-LISTEN:0,fork', 'SYSTEM:true'], 'option --workers: invalid value "x" (a number from 1 to 1024, or auto)'],
    [['--workers=2.5', 'TCP-LISTEN:0,fork', 'SYSTEM:true'], 'option --workers: invalid value "2.5" (a number from 1 to 1024, or auto)'],
    [['--workers'], 'option --workers requires an argument; use option "-h" for help'],
    [['--workers', '2', 'TCP-LISTEN:0', 'SYSTEM:true'], 'option --workers not allowed without option fork on address 1'],
    [['--workers', '1', 'TCP-LISTEN:0', 'SYSTEM:true'], 'option --workers not allowed without option fork on address 1'],
    [['--workers', '2', 'SYSTEM:true', 'TCP-LISTEN:0,fork'], 'option --workers not allowed without option fork on address 1'],
    [['--workers', '2', 'TCP:127.0.0.1:1,fork', 'SYSTEM:true'], 'option --workers needs address 1 to listen for connections (TCP-LISTEN, UNIX-LISTEN, OPENSSL-LISTEN, …), not TCP'],
    [['--workers', '2', 'UDP-LISTEN:0,fork', 'SYSTEM:true'], 'option --workers needs address 1 to listen for connections (TCP-LISTEN, UNIX-LISTEN, OPENSSL-LISTEN, …), not UDP-LISTEN'],
    [['--workers', '2', 'TCP-LISTEN:0,fork,broker', 'PIPE'], 'option --workers not allowed with option broker'],
    [['--workers', '2', 'TCP-LISTEN:0,fork,accept-timeout=5', 'SYSTEM:true'], 'option --workers not allowed with option accept-timeout'],
    [['--workers', '2', '--metrics', '127.0.0.1:0', 'TCP-LISTEN:0,fork', 'SYSTEM:true'], 'option --workers not allowed with --metrics'],
    [['--workers', '2', 'OPENSSL-LISTEN:0,fork,cert=auto,verify=0', 'SYSTEM:true'], 'option --workers not allowed with cert=auto: each process would make a certificate of its own'],
  ])('refuses %j: "%s", exit 1, before anything listens', async (args, message) => {
    const r = await tsocat(args);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d tsocat\\[\\d+\\] E ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n$`));
  });
});
