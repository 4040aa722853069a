/**
 * The zero-copy path (src/engine/relay/kernel/splice.ts): which sessions take it, and
 * that it moves every byte both ways, half-closes, meets resets with the
 * buffered path's log lines, and waits for a slow reader without spinning.
 * Each case runs through both paths (`TSOCAT_SPLICE=off` is the buffered one).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, exited, freePort, tempDir, waitFor, waitForPort } from '../helpers.js';

const background = backgroundStarter();
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A server in this process for tsocat's address 2; `onPeer` gets each connection. */
async function serve(onPeer: (s: Socket) => void, path?: string): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, onPeer);
  servers.push(server);
  const port = path ? 0 : await freePort();
  await new Promise<void>((r) => (path ? server.listen(path, r) : server.listen(port, '127.0.0.1', r)));
  return port;
}

/** Everything a socket reads until its end (or a reset, which also ends it). */
function collect(s: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  return new Promise((resolve) => {
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', () => resolve(Buffer.concat(chunks)));
  });
}

/** tsocat -d -d TCP-LISTEN:p <address 2>, and the port it listens on. */
async function relayTo(address2: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const port = await freePort();
  const p = background(['-d', '-d', ...extra, `TCP-LISTEN:${port},reuseaddr`, address2], { env: { ...process.env, ...env } });
  await waitForPort(port);
  return { p, port };
}

const PATHS = [
  { name: 'zero-copy', env: {}, line: 'N data path: zero-copy (splice)' },
  { name: 'buffered', env: { TSOCAT_SPLICE: 'off' }, line: 'N data path: buffers (TSOCAT_SPLICE=off)' },
];

describe('which path a relay takes', () => {
  it.for([
    { flags: [], line: 'N data path: zero-copy (splice)', what: 'TCP-LISTEN to TCP goes through the kernel, and says so at -d -d' },
    { flags: ['-v'], line: 'N data path: buffers (-v)', what: '-v keeps the bytes in JavaScript: the buffered path, with its reason' },
  ])('$what', async ({ flags, line }) => {
    const target = await serve((s) => s.pipe(s));
    const { p, port } = await relayTo(`TCP:127.0.0.1:${target}`, flags);
    const client = connect({ port, host: '127.0.0.1' });
    const answer = collect(client);
    client.end('ping\n');
    expect((await answer).toString()).toBe('ping\n');
    expect(await exited(p)).toBe(0);
    expect(p.errors()).toContain(` ${line}\n`);
    expect(p.errors().match(/ N data path: /g)).toHaveLength(1);
  });

  it('a socket tsocat made itself (bind=): the server\'s answer reaches the client through the kernel, the client still sending', async () => {
    // a Socket over a descriptor reads at once unless told not to; the answer went into JavaScript and was lost
    const target = await serve((s) => s.once('data', () => s.end('answer from the server\n')));
    const { p, port } = await relayTo(`TCP4:127.0.0.1:${target},bind=127.0.0.1`);
    const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const answer = collect(client);
    client.write('request\n');
    expect((await answer).toString()).toBe('answer from the server\n');
    client.end();
    expect(await exited(p)).toBe(0);
    expect(p.errors()).toContain(' N data path: zero-copy (splice)\n');
  });

  it('UNIX-LISTEN to UNIX-CONNECT goes through the kernel; crnl on one side does not', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const back = join(dir, 'back');
      await serve((s) => s.pipe(s), back);
      for (const [opt, line] of [
        ['', 'N data path: zero-copy (splice)'],
        [',crnl', 'N data path: buffers (crnl)'],
      ]) {
        const front = join(dir, opt ? 'front-crnl' : 'front');
        const p = background(['-d', '-d', `UNIX-LISTEN:${front}`, `UNIX-CONNECT:${back}${opt}`]);
        await waitFor(() => p.errors().includes('listening on'));
        const client = connect(front);
        const answer = collect(client);
        client.end('ping\n');
        expect((await answer).toString()).toBe('ping\n');
        expect(await exited(p)).toBe(0);
        expect(p.errors()).toContain(` ${line}\n`);
      }
    } finally {
      cleanup();
    }
  });
});

describe.for(PATHS)('$name path: bytes both ways', ({ env, line }) => {
  const SIZE = 24 * 1024 * 1024;

  it('24 MiB each way, in order: the client half-closes, the server answers after the end of data', async () => {
    const up = randomBytes(SIZE);
    const down = randomBytes(SIZE);
    let serverGot: Promise<Buffer> | undefined;
    const target = await serve((s) => {
      serverGot = collect(s);
      // the answer starts only once the client's end of data has come through: a relay that
      // does not pass the half-close on leaves this server waiting, and the test times out
      void serverGot.then(() => s.end(down));
    });
    // -t 10: after the client's end of data the answer (24 MiB) gets more than the default 0.5 s
    const { p, port } = await relayTo(`TCP:127.0.0.1:${target}`, ['-t', '10'], env);
    const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const clientGot = collect(client);
    client.end(up);
    expect(sha(await clientGot)).toBe(sha(down));
    expect(sha(await (serverGot as Promise<Buffer>))).toBe(sha(up));
    client.end();
    expect(await exited(p, 10000)).toBe(0);
    expect(p.errors()).toContain(` ${line}\n`);
    // the client's end of file came first, and was passed on as one
    expect(p.errors()).toMatch(/ N socket 1 \(fd \d+\) is at EOF\n.* N socket 2 \(fd \d+\) is at EOF\n/);
  }, 30000);

  it.for([
    { halfClosed: false, what: 'a reader that stops' },
    // its end of file is a hang-up the event loop keeps reporting: a watch for it would spin
    { halfClosed: true, what: 'a reader that has sent its end of file and stops' },
  ])('$what: the relay waits without spinning, and every byte arrives once it reads again', async ({ halfClosed }) => {
    const up = randomBytes(SIZE);
    let server: Socket | undefined;
    const target = await serve((s) => {
      server = s;
      s.pause();
      if (halfClosed) s.end();
    });
    // -t 10: the server's end of file starts the close wait, which must outlast the stop
    const { p, port } = await relayTo(`TCP:127.0.0.1:${target}`, ['-t', '10'], env);
    const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    client.end(up);
    await waitFor(() => server !== undefined);
    // the buffers fill, then the relay must sit idle: its CPU time over a quiet second stays small
    // (a relay that retried a full pipe or socket in a loop would burn the whole second)
    const cpu = () => {
      const f = readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return (Number(f[11]) + Number(f[12])) / 100;
    };
    await new Promise((r) => setTimeout(r, 500)); // an absence is watched for a while: the buffers filling
    const before = cpu();
    await new Promise((r) => setTimeout(r, 1000));
    expect(cpu() - before).toBeLessThan(0.3);
    const got = collect(server as Socket);
    (server as Socket).resume();
    expect(sha(await got)).toBe(sha(up));
    (server as Socket).end();
    expect(await exited(p, 10000)).toBe(0);
    expect(p.errors()).toContain(` ${line}\n`);
  }, 30000);
});

describe('a peer that resets', () => {
  /** Client and server swap 4 MiB each way; the server resets once it has everything and the client has said so. */
  async function resetRun(env: NodeJS.ProcessEnv) {
    const SIZE = 4 * 1024 * 1024;
    const up = randomBytes(SIZE);
    const down = randomBytes(SIZE);
    let serverGot: Buffer | undefined;
    const target = await serve((s) => {
      const chunks: Buffer[] = [];
      let n = 0;
      s.on('data', (d: Buffer) => {
        chunks.push(d);
        n += d.length;
        // the client's bytes and then its one-byte "got it all"
        if (n === SIZE + 1) {
          serverGot = Buffer.concat(chunks).subarray(0, SIZE);
          s.resetAndDestroy();
        }
      });
      s.on('error', () => {});
      s.write(down);
    });
    const { p, port } = await relayTo(`TCP:127.0.0.1:${target}`, [], env);
    const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    const got: Buffer[] = [];
    let n = 0;
    const ended = new Promise<void>((r) => client.once('end', r));
    client.on('data', (d: Buffer) => {
      got.push(d);
      n += d.length;
      if (n === SIZE) client.write('!');
    });
    client.write(up);
    await ended;
    client.end();
    const status = await exited(p, 10000);
    expect(sha(Buffer.concat(got))).toBe(sha(down));
    expect(sha(serverGot as Buffer)).toBe(sha(up));
    // what the log says, without times, pids and ports
    const lines = p
      .errors()
      .split('\n')
      .filter((l) => / [WE] /.test(l))
      .map((l) => l.replace(/^.*tsocat\[\d+\] /, '').replace(/:\d+/g, ':P'));
    return { status, lines, errors: p.errors() };
  }

  it('bytes arrive intact both ways before it, and the log and status are the buffered path\'s', async () => {
    const zero = await resetRun({});
    const buffered = await resetRun({ TSOCAT_SPLICE: 'off' });
    expect(zero.errors).toContain(' N data path: zero-copy (splice)\n');
    expect(buffered.errors).toContain(' N data path: buffers (TSOCAT_SPLICE=off)\n');
    expect(zero.lines).toEqual(['W read(TCP AF=2 127.0.0.1:P): Connection reset by peer']);
    expect(zero.lines).toEqual(buffered.lines);
    expect(zero.status).toBe(buffered.status);
  }, 30000);
});

describe('timers on the zero-copy path', () => {
  it('-T: bytes flowing keep the session, silence ends it', async () => {
    const target = await serve((s) => s.pipe(s));
    const { p, port } = await relayTo(`TCP:127.0.0.1:${target}`, ['-T', '1']);
    const client = connect({ port, host: '127.0.0.1' });
    client.on('error', () => {});
    client.on('data', () => {});
    // a timer test measures time by nature: 8 writes 250 ms apart span twice the -T
    for (let i = 0; i < 8; i++) {
      client.write('tick\n');
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(p.exitCode).toBeNull();
    expect(await exited(p, 5000)).toBe(0);
    expect(p.errors()).toContain(' N data path: zero-copy (splice)\n');
    expect(p.errors()).toContain('N inactivity timeout triggered');
    client.destroy();
  });
});

describe('the close wait on the zero-copy path', () => {
  it('-t: after the client\'s end of data, a server that stays silent gets -t seconds, then the relay ends with status 0', async () => {
    let server: Socket | undefined;
    const target = await serve((s) => {
      server = s;
      s.on('data', () => {});
    });
    // a timer test measures time by nature: -t 1 against a bound of 4 s, and not before 0.8 s
    const { p, port } = await relayTo(`TCP:127.0.0.1:${target}`, ['-t', '1']);
    const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    client.on('data', () => {});
    await waitFor(() => server !== undefined);
    const halfClosed = Date.now();
    client.end('bye\n');
    expect(await exited(p, 4000)).toBe(0);
    expect(Date.now() - halfClosed).toBeGreaterThanOrEqual(800);
    expect(p.errors()).toContain(' N data path: zero-copy (splice)\n');
    expect(p.errors()).toMatch(/ N socket 1 \(fd \d+\) is at EOF\n/);
    client.destroy();
    server?.destroy();
  });
});

describe('sessions side by side', () => {
  it('a session stuck on a stopped reader holds up neither another session nor the loop', async () => {
    let first = true;
    const stuck: Socket[] = [];
    const target = await serve((s) => {
      if (first) {
        first = false;
        stuck.push(s);
        s.pause();
      } else s.pipe(s);
    });
    const port = await freePort();
    const p = background(['-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, `TCP:127.0.0.1:${target}`], { env: { ...process.env, TSOCAT_LOOP_WATCHDOG: '100' } });
    await waitForPort(port);
    const blocked = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    blocked.on('error', () => {});
    blocked.write(randomBytes(24 * 1024 * 1024));
    await waitFor(() => stuck.length === 1);
    await new Promise((r) => setTimeout(r, 300)); // the stuck session's buffers fill up
    const started = Date.now();
    const client = connect({ port, host: '127.0.0.1' });
    const answer = collect(client);
    client.end('ping\n');
    expect((await answer).toString()).toBe('ping\n');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(p.errors().match(/ N data path: zero-copy \(splice\)\n/g)).toHaveLength(2);
    expect(p.errors()).not.toContain('event loop stalled');
    blocked.destroy();
    for (const s of stuck) s.destroy();
  });
});
