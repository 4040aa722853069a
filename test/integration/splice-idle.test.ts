/**
 * Idle sessions on the zero-copy path (src/engine/relay/kernel/splice.ts) hold no
 * pipe: a direction takes one from the process's pool only while it moves
 * bytes. Counted in /proc/<pid>/fd of a real `TCP-LISTEN,fork TCP` relay; and
 * the "not accepting" line near the descriptor limit tells the count as it is.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { getPipeSize } from '../../src/sys/libc.js';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, connectPeers, freePort, waitFor, waitForPort } from '../helpers.js';

const start = backgroundStarter();
const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const descriptorsOf = (pid: number | undefined) => readdirSync(`/proc/${pid}/fd`).length;

/** An echo server in this process (half-closes as its peer does); its port. */
async function echoServer(): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    sockets.push(s);
    s.pipe(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

/** Sends `data` through the echo and half-closes; resolves with what came back, up to the end. */
function roundTrip(s: Socket, data: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  const back = new Promise<Buffer>((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('close', () => reject(new Error(`closed after ${Buffer.concat(chunks).length} of ${data.length} bytes`)));
  });
  s.end(data);
  return back;
}

const zeroCopyLines = (stderr: string) => stderr.split('\n').filter((l) => l.endsWith(' N data path: zero-copy (splice)')).length;

describe('idle sessions on the zero-copy path hold no pipe', () => {
  it('50 idle TCP-LISTEN,fork TCP sessions hold ≤ 4 descriptors each; after idling, bytes flow intact both ways, a busy one among idle ones too', async () => {
    const target = await echoServer();
    const port = await freePort();
    const p = start(['-d', '-d', `TCP-LISTEN:${port},fork,reuseaddr`, `TCP:127.0.0.1:${target}`]);
    await waitForPort(port);
    const baseline = descriptorsOf(p.pid);
    const idle = await connectPeers(port, 50, sockets, true);
    await waitFor(() => zeroCopyLines(p.errors()) >= 50, 10000, '50 sessions on the zero-copy path');
    // each session: its peer, its connection to the target and a watched duplicate of each; the pool's one spare pipe
    // (a pipe per direction made up front held 8 each)
    // and libuv's reserve: the first stream handle of the process opens /dev/null once, to survive EMFILE
    // (since the first session is the first stream handle, it comes after the baseline)
    const atRest = descriptorsOf(p.pid) - baseline;
    expect(atRest).toBeLessThanOrEqual(50 * 4 + 2 + 1);

    // one session turns busy (8 MiB: its directions grow their pipes) while the others idle, then a few small ones
    const big = randomBytes(8 << 20);
    expect(sha(await roundTrip(idle[0] as Socket, big))).toBe(sha(big));
    for (const s of idle.slice(1, 4)) {
      const small = randomBytes(100_000);
      expect(sha(await roundTrip(s, small))).toBe(sha(small));
    }
    // the ended sessions' pipes went back to the pool (two directions each at most), the idle ones still hold none
    await waitFor(() => descriptorsOf(p.pid) - baseline <= 46 * 4 + 4 * 2 * 2, 5000, 'the ended sessions to close');
    // a session that idled while the others worked: still intact
    const late = randomBytes(1 << 20);
    expect(sha(await roundTrip(idle[49] as Socket, late))).toBe(sha(late));
    expect(p.errors()).not.toMatch(/ [EW] /);
  }, 60000);
});

/** The pipes among a process's descriptors: each pipe's size (F_GETPIPE_SZ, through /proc/<pid>/fd), by inode. */
function pipesOf(pid: number | undefined): Map<string, number> {
  const pipes = new Map<string, number>();
  for (const n of readdirSync(`/proc/${pid}/fd`)) {
    let link: string;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${n}`);
    } catch {
      continue; // closed meanwhile
    }
    if (!link.startsWith('pipe:') || pipes.has(link)) continue;
    // opened as a reader that never reads: the size is the pipe's, whichever end this was
    const fd = openSync(`/proc/${pid}/fd/${n}`, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      pipes.set(link, getPipeSize(fd));
    } finally {
      closeSync(fd);
    }
  }
  return pipes;
}

describe('the pool of pipes', () => {
  it('20 bulk sessions stalled on their readers: at most 16 MiB of grown pipes; once they end, at most 16 spare pipes stay open', async () => {
    // a sink that stops reading after 4.5 MiB per connection (past the 4 MiB that makes a direction bulk), until told
    const stalled: Socket[] = [];
    const sink = createServer((s) => {
      s.on('error', () => {});
      sockets.push(s);
      let got = 0;
      s.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= 4.5 * (1 << 20) && !stalled.includes(s)) {
          s.pause();
          stalled.push(s);
        }
      });
      s.on('end', () => s.end());
    });
    servers.push(sink);
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const port = await freePort();
    const p = start([`TCP-LISTEN:${port},fork,reuseaddr`, `TCP:127.0.0.1:${(sink.address() as { port: number }).port}`]);
    await waitForPort(port);
    // Node's own (stdio, its signal pipe), and the pool's one spare once waitForPort's probe was served
    const own = pipesOf(p.pid).size;
    const peers = await connectPeers(port, 20, sockets);
    // beyond what the sink reads and what socket buffers hold: the relay's directions stall with bytes in their pipes
    const data = Buffer.alloc(12 << 20, 'x');
    const ended = peers.map((s) => new Promise((r) => s.once('close', r)));
    for (const s of peers) s.end(data);
    await waitFor(() => stalled.length === 20, 20000, 'all 20 readers to stall');
    // every stalled direction keeps its pipe (its bytes are in it)
    await waitFor(() => pipesOf(p.pid).size >= own + 20, 5000, 'a pipe held by each stalled direction');
    const sizes = [...pipesOf(p.pid).values()];
    const grown = sizes.filter((n) => n > 65536);
    expect(grown.length).toBeGreaterThan(0);
    expect(grown.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(16 << 20);

    for (const s of stalled) s.resume();
    await Promise.all(ended);
    await waitFor(() => pipesOf(p.pid).size <= own + 16, 5000, () => `the pool to keep 16 spare pipes at most (${pipesOf(p.pid).size - own})`);
    expect(p.errors()).not.toMatch(/ [EW] /);
  }, 60000);
});

describe('the pause near the descriptor limit', () => {
  it('"not accepting: N of 200 descriptors open" tells the count in /proc/<pid>/fd at that moment', async () => {
    const target = await echoServer();
    const port = await freePort();
    const p = start([`TCP-LISTEN:${port},fork,reuseaddr`, `TCP:127.0.0.1:${target}`], { descriptorLimit: 200 });
    await waitForPort(port);
    // more peers than fit: the listener pauses; the peers stay connected (idle), so the table stays as it was
    await connectPeers(port, 100, sockets, true);
    await waitFor(() => / W .*not accepting: /.test(p.errors()), 10000, 'the W line');
    const told = Number(/not accepting: (\d+) of 200 descriptors open/.exec(p.errors())?.[1]);
    const open = descriptorsOf(p.pid);
    // the table changes only as sessions finish opening: a session's few descriptors either way
    expect(Math.abs(told - open)).toBeLessThanOrEqual(8);
  }, 30000);
});
