/**
 * Idle sessions on the zero-copy path (src/engine/relay/splice.ts) hold no
 * pipe: a direction takes one from the process's pool only while it moves
 * bytes. Counted in /proc/<pid>/fd of a real `TCP-LISTEN,fork TCP` relay; and
 * the "not accepting" line near the descriptor limit tells the count as it is.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
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
    const atRest = descriptorsOf(p.pid) - baseline;
    expect(atRest).toBeLessThanOrEqual(50 * 4 + 2);

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
