/**
 * What the relay's hot paths cost in system calls, counted with strace(1): a
 * change that adds a call per message or per block (an extra splice, a watch
 * changed on every event, a write per chunk) keeps the bytes right and only
 * shows here.
 *
 * - zero-copy path (src/engine/relay/kernel/splice.ts): a small message costs
 *   one splice in and one out per direction, and the watch is not changed per
 *   message; a read that filled -b's block is not taken as a drained socket.
 * - buffered path (src/engine/relay/pump.ts): the chunks of one turn go out as
 *   one writev; with -b each block is still one write of its own.
 * - batched datagram path (src/engine/relay/kernel/datagram-batch.ts): a busy
 *   direction hands the loop back after 4 batches, however long a flood lasts.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exited, freePort, STRICT, skipBecause, stop, TSOCAT, tempDir, udpBound, waitFor, waitForPort } from '../helpers.js';

const HAVE_STRACE = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', 'true']).status === 0;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeEach((ctx) => {
  if (HAVE_STRACE) return;
  const why = 'strace is not on PATH or cannot trace here (the test counts system calls)';
  if (STRICT) throw new Error(`CI must run this test, but ${why}`);
  skipBecause(ctx, why);
});

/** A server in this process (not traced) for the relay's address 2. */
async function serve(onPeer: (s: Socket) => void): Promise<number> {
  const server: Server = createServer({ allowHalfOpen: true }, onPeer);
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return port;
}

interface Traced {
  strace: ChildProcess;
  port: number;
  /** The traced calls, one line each (`pid name(args) = result`). */
  calls: () => string[];
  /** What strace and the relay wrote on stderr. */
  errors: () => string;
}

/**
 * `tsocat <flags> TCP-LISTEN:port <address 2>` (one session, no fork; or the
 * arguments `udp` makes, for a UDP-LISTEN) under strace -f, counting
 * `syscalls`. The relay and strace are stopped by pid after the test.
 */
async function traced(flags: string[], address2: string, syscalls: string[], env: NodeJS.ProcessEnv = {}, udp?: (port: number) => string[]): Promise<Traced> {
  const { dir, cleanup } = tempDir();
  const out = join(dir, 'trace');
  const port = await freePort();
  const args = udp ? udp(port) : [...flags, `TCP-LISTEN:${port},reuseaddr`, address2];
  const strace = spawn('strace', ['-f', '-qq', '-o', out, '-e', `trace=${syscalls.join(',')}`, process.execPath, TSOCAT, ...args], {
    // no option trace (CI sets TSOCAT_OPTION_TRACE for the ablation check): the relay appends it at exit, and a
    // descriptor number the session closed may by then be the trace file's, which a write count would take for the socket's
    env: { ...process.env, TSOCAT_OPTION_TRACE: undefined, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errors = '';
  strace.stderr?.on('data', (d: Buffer) => {
    errors += d.toString();
  });
  const read = () => {
    try {
      return readFileSync(out, 'utf8');
    } catch {
      return '';
    }
  };
  cleanups.push(async () => {
    // the relay first (its pid is the trace's first), then strace
    const relay = Number(/^(\d+) /.exec(read())?.[1]);
    if (relay > 0 && strace.exitCode === null) {
      try {
        process.kill(relay, 'SIGTERM');
      } catch {
        // gone already
      }
    }
    await stop(strace);
    cleanup();
  });
  try {
    if (udp) await waitFor(() => udpBound(port), 10000, `UDP port ${port} bound`);
    else await waitForPort(port, 10000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; strace said: ${errors}`);
  }
  const calls = () =>
    read()
      .split('\n')
      // a call interrupted by another thread's line is counted at its start, not again at "<... resumed>"
      .filter((l) => /^\d+ +\w+\(/.test(l));
  return { strace, port, calls, errors: () => errors };
}

const count = (calls: string[], ...names: string[]) => calls.filter((l) => names.includes(/^\d+ +(\w+)\(/.exec(l)?.[1] ?? '')).length;

/** Sends `n` messages of `size` bytes one at a time, each after the last one's echo, then ends. */
async function roundTrips(port: number, n: number, size: number): Promise<void> {
  const client = connect({ port, host: '127.0.0.1', noDelay: true });
  cleanups.push(() => {
    client.destroy();
  });
  await new Promise<void>((r, j) => client.once('connect', r).once('error', j));
  const message = Buffer.alloc(size, 0x61);
  let got = 0;
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    client.on('error', reject);
    client.on('data', (d: Buffer) => {
      got += d.length;
      if (got === sent * size) {
        if (sent === n) return resolve();
        sent++;
        client.write(message);
      }
    });
    sent++;
    client.write(message);
  });
  client.end();
  await new Promise<void>((r) => client.once('close', () => r()).resume());
}

/** `size` bytes from the test through the traced relay to a sink in this process, then its end; the traced calls once the relay has exited. */
async function burst(size: number, flags: string[], syscalls: string[], env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  let received = 0;
  const sink = await serve((s) => {
    s.on('data', (d: Buffer) => {
      received += d.length;
    });
    s.on('end', () => s.end());
  });
  const t = await traced(flags, `TCP:127.0.0.1:${sink}`, syscalls, env);
  const client = connect({ port: t.port, host: '127.0.0.1' });
  cleanups.push(() => {
    client.destroy();
  });
  client.end(Buffer.alloc(size, 0x62));
  client.resume();
  expect(await exited(t.strace, 15000)).toBe(0);
  expect(received).toBe(size);
  return t.calls();
}

describe('zero-copy path (splice): system calls per message', () => {
  it('200 round trips of 64 bytes: one splice in and one out per direction per message, the watch not changed per message', async () => {
    const echo = await serve((s) => s.pipe(s));
    const t = await traced([], `TCP:127.0.0.1:${echo}`, ['splice', 'epoll_ctl', 'epoll_wait', 'epoll_pwait']);
    const N = 200;
    await roundTrips(t.port, N, 64);
    expect(await exited(t.strace, 10000)).toBe(0);
    const calls = t.calls();
    const splices = count(calls, 'splice');
    const ctl = count(calls, 'epoll_ctl');
    const waits = count(calls, 'epoll_wait', 'epoll_pwait');
    const summary = `${splices} splice, ${ctl} epoll_ctl, ${waits} epoll_wait for ${N} round trips`;
    console.log(summary);
    // 2 directions × (splice in + splice out) per message, and the session's start and end
    expect(splices, summary).toBeLessThanOrEqual(4 * N + 20);
    // the watches are set up once; Node's own start-up and the listener add a few dozen at most
    expect(ctl, summary).toBeLessThan(60);
    expect(splices, `${summary}: the relay did not take the zero-copy path`).toBeGreaterThanOrEqual(4 * N);
  });

  it('20 MiB through -b 4096: blocks that fill -b are read on without an epoll_wait each', async () => {
    const size = 20 << 20;
    const calls = await burst(size, ['-b', '4096'], ['splice', 'epoll_wait', 'epoll_pwait']);
    const blocks = size / 4096;
    const waits = count(calls, 'epoll_wait', 'epoll_pwait');
    const splicesIn = calls.filter((l) => / splice\(\d+, NULL, \d+, NULL, 4096,/.test(l)).length;
    const summary = `${waits} epoll_wait, ${splicesIn} splices asked for 4096 bytes, for ${blocks} blocks`;
    console.log(summary);
    expect(splicesIn, `${summary}: -b 4096 did not bound the reads`).toBeGreaterThanOrEqual(blocks);
    // read on for up to 16 rounds a turn: a wait per block (5120) is the fault this catches
    expect(waits, summary).toBeLessThan(blocks / 4);
  });
});

/**
 * The relay's writes of bytes (write and writev) to the descriptor that took the most bytes (the
 * target socket), as [call, bytes]: log lines on stderr and libuv's 8-byte wake-ups left out.
 */
function dataWrites(calls: string[]): Array<[string, number]> {
  const byFd = new Map<string, Array<[string, number]>>();
  for (const l of calls) {
    const m = /^\d+ +(write|writev)\((\d+),.* = (\d+)$/.exec(l);
    if (!m) continue;
    const list = byFd.get(m[2] as string) ?? [];
    list.push([m[1] as string, Number(m[3])]);
    byFd.set(m[2] as string, list);
  }
  const total = (list: Array<[string, number]>) => list.reduce((a, [, n]) => a + n, 0);
  return [...byFd.values()].sort((a, b) => total(b) - total(a))[0] ?? [];
}

/** 8 MiB from the test through the buffered path (TSOCAT_SPLICE=off), traced for writes. */
async function burstThroughPump(flags: string[]): Promise<Array<[string, number]>> {
  return dataWrites(await burst(8 << 20, flags, ['write', 'writev'], { TSOCAT_SPLICE: 'off' }));
}

describe('buffered path (pump): writes per turn', () => {
  it('a burst: the chunks one turn reads go out corked, as writev calls of more than one read each', async () => {
    const writes = await burstThroughPump([]);
    const bytes = writes.reduce((a, [, n]) => a + n, 0);
    const big = writes.filter(([, n]) => n > 64 << 10).length;
    const summary = `${writes.length} writes (${writes.filter(([c]) => c === 'writev').length} writev, ${big} of more than 64 KiB) for ${bytes} bytes`;
    console.log(summary);
    expect(bytes, summary).toBe(8 << 20);
    // a read is at most 64 KiB: a write per read would be 128 writes of at most 64 KiB each
    expect(writes.length, summary).toBeLessThan(96);
    expect(big, summary).toBeGreaterThan(writes.length / 4);
  });

  it('-b 4096: each block is a write of its own, never joined with the next', async () => {
    const writes = await burstThroughPump(['-b', '4096']);
    const bytes = writes.reduce((a, [, n]) => a + n, 0);
    const over = writes.filter(([, n]) => n > 4096);
    const summary = `${writes.length} writes for ${bytes} bytes, ${over.length} of more than 4096 bytes (${over.slice(0, 3).map(([c, n]) => `${c} ${n}`).join(', ')})`;
    console.log(summary);
    expect(bytes, summary).toBe(8 << 20);
    expect(over, summary).toEqual([]);
  });
});

describe('batched datagram path: a busy direction hands the loop back', () => {
  it('a flood from another process: at most 4 batches per direction and loop phase (16 in all) between two epoll_waits', async () => {
    const echo = createSocket('udp4');
    cleanups.push(() => new Promise<void>((r) => echo.close(() => r())));
    echo.on('message', (data, from) => echo.send(data, from.port, from.address));
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
    const echoPort = echo.address().port;
    const t = await traced([], '', ['recvmmsg', 'epoll_wait', 'epoll_pwait'], {}, (port) => ['-T', '0.5', '-d', '-d', `UDP-LISTEN:${port},bind=127.0.0.1`, `UDP:127.0.0.1:${echoPort}`]);
    const port = t.port;
    // the sender: its own process, bursts of 200 packets for 1 s (the relay under strace cannot keep up: its socket stays full).
    // It keeps its socket open until the relay has ended: the relay, slowed by strace, is still sending
    // the echoed packets back long after the flood, and a closed port would answer them with
    // "Connection refused" (a write error, exit status 1, as with socat)
    const sender = spawn(process.execPath, ['-e', `
      const s = require('node:dgram').createSocket('udp4');
      s.on('message', () => {});
      const p = Buffer.alloc(64, 'f');
      const until = Date.now() + 1000;
      s.send('first', ${port}, '127.0.0.1');
      const burst = () => {
        for (let i = 0; i < 200; i++) s.send(p, ${port}, '127.0.0.1');
        if (Date.now() < until) setTimeout(burst, 1); else console.log('sent');
      };
      setTimeout(burst, 200);
    `], { stdio: ['ignore', 'pipe', 'ignore'] });
    cleanups.push(() => stop(sender));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the sender did not finish its flood within 10 s')), 10000);
      sender.stdout?.on('data', () => { clearTimeout(timer); resolve(); });
    });
    expect(await exited(t.strace, 15000), t.errors()).toBe(0);
    expect(t.errors()).toContain('N data path: datagram batches (recvmmsg, sendmmsg)');
    // the longest run of batches received (recvmmsg returning packets) between two epoll_waits of the loop's thread
    const calls = t.calls();
    const loop = /^(\d+) +recvmmsg\(/.exec(calls.find((l) => /^\d+ +recvmmsg\(/.test(l)) ?? '')?.[1];
    let run = 0;
    let longest = 0;
    let batches = 0;
    for (const l of calls) {
      if (!l.startsWith(`${loop} `)) continue;
      if (/ epoll_p?wait\(/.test(l)) run = 0;
      else if (/ recvmmsg\(.* = [1-9]\d*$/.test(l)) {
        batches++;
        longest = Math.max(longest, ++run);
      }
    }
    const summary = `${batches} batches received, at most ${longest} between two epoll_waits`;
    console.log(summary);
    expect(batches, `${summary}: the flood did not fill batches`).toBeGreaterThan(20);
    // per direction 4 batches in the poll phase (the watch's callback) and 4 in the check phase (its
    // setImmediate) of one loop iteration: 16 for the two directions
    expect(longest, summary).toBeLessThanOrEqual(16);
  });
});
