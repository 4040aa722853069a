/**
 * `tsocat serve --metrics` (issue 21): the Prometheus counters equal the bytes
 * the test moved through two relays, each direction apart; what curl fetches
 * parses with a strict Prometheus text-format parser; errors are counted by
 * kind; `--log-format json` writes one line per ended session.
 */
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, isUnixListening, requireOrSkip, run, startTsocat, stop, tempDir, waitFor, waitForPort } from '../helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Prometheus' text exposition format (0.0.4), strictly: every line is a
 * `# HELP`, a `# TYPE` naming a known type before its samples, a sample
 * `name{label="value",…} number`, or empty; anything else throws.
 */
function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  const typed = new Map<string, string>();
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleLine = new RegExp(`^(${NAME})(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*",?)*)\\})? (\\S+)(?: -?\\d+)?$`);
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      if (!new RegExp(`^# HELP ${NAME} .*$`).test(line)) throw new Error(`line ${i + 1}: bad HELP: ${line}`);
      continue;
    }
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (type) {
      if (typed.has(type[1] as string)) throw new Error(`line ${i + 1}: second TYPE for ${type[1]}`);
      typed.set(type[1] as string, type[2] as string);
      continue;
    }
    if (line.startsWith('#')) throw new Error(`line ${i + 1}: unknown comment: ${line}`);
    const m = sampleLine.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample: ${line}`);
    const name = m[1] as string;
    if (!typed.has(name)) throw new Error(`line ${i + 1}: sample of ${name} before its TYPE`);
    const value = Number(m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`line ${i + 1}: bad value ${m[3]}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name, labels, value });
  }
  return samples;
}

function sampleValue(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** A server that reads exactly `expect` bytes from each client, then answers `reply` bytes and closes. */
async function exactServer(expectBytes: number, replyBytes: number): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => {
    let got = 0;
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= expectBytes) s.end(Buffer.alloc(replyBytes, 0x62));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, server };
}

/** Sends `bytes` through a relay and reads its answer to the end. */
function exchange(target: { port: number } | { path: string }, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(target as { port: number });
    let got = 0;
    socket.on('data', (d: Buffer) => {
      got += d.length;
    });
    socket.on('end', () => resolve(got));
    socket.on('error', reject);
    socket.write(Buffer.alloc(bytes, 0x61));
  });
}

async function scrape(port: number): Promise<Sample[]> {
  const r = await run('curl', ['-sS', '--fail', `http://127.0.0.1:${port}/metrics`]);
  expect(r.status, r.stderr).toBe(0);
  return parsePrometheusText(r.stdout.toString());
}

/**
 * Starts tsocat with `args` (a relay on `port` whose address 2 echoes), keeps one session open that
 * sent `bytes` and got them back, and returns the metrics scraped then.
 */
async function scrapeWithOpenSession(args: string[], port: number, metricsPort: number, bytes: number): Promise<Sample[]> {
  const server = startTsocat(args);
  cleanups.push(() => stop(server));
  await waitForPort(port);
  await waitForPort(metricsPort);
  const socket = connect(port, '127.0.0.1');
  cleanups.push(() => socket.destroy());
  let echoed = 0;
  socket.on('data', (d: Buffer) => {
    echoed += d.length;
  });
  socket.write('x'.repeat(bytes));
  await waitFor(() => echoed === bytes, 5000, 'the echo');
  return scrape(metricsPort);
}

describe('tsocat serve --metrics', () => {
  it('counts exactly the bytes moved through two relays, each direction apart, and the sessions; curl gets text a strict Prometheus parser reads', async (ctx) => {
    requireOrSkip(ctx, 'curl');
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const a = await exactServer(3000, 70000);
    const b = await exactServer(123457, 11);
    cleanups.push(() => a.server.close(), () => b.server.close());
    const portA = await freePort();
    const pathB = join(dir, 'b.sock');
    const closed = await freePort();
    const metricsPort = await freePort();
    const file = join(dir, 'relays.yaml');
    writeFileSync(
      file,
      `relays:
  alpha:
    address1: TCP-LISTEN:${portA},bind=127.0.0.1,fork,reuseaddr
    address2: TCP:127.0.0.1:${a.port}
  beta:
    address1: UNIX-LISTEN:${pathB},fork
    address2: TCP:127.0.0.1:${b.port}
  nowhere:
    address1: TCP-LISTEN:${closed},bind=127.0.0.1,fork,reuseaddr
    address2: TCP:127.0.0.1:1
`,
    );
    const server = startTsocat(['serve', '--metrics', `127.0.0.1:${metricsPort}`, '--log-format', 'json', file]);
    cleanups.push(() => stop(server));
    await waitForPort(portA);
    await waitFor(() => isUnixListening(pathB), 5000, 'beta listening');
    await waitForPort(metricsPort);

    // two sessions through alpha, one through beta
    expect(await exchange({ port: portA }, 3000)).toBe(70000);
    expect(await exchange({ port: portA }, 3000)).toBe(70000);
    expect(await exchange({ path: pathB }, 123457)).toBe(11);
    // one session through a relay whose second address refuses: an error of kind "open"
    await exchange({ port: closed }, 1).catch(() => 0);
    await waitFor(() => (server.errors().match(/"event":"session-end"/g) ?? []).length >= 3, 5000, 'three session-end lines');

    const samples = await scrape(metricsPort);
    expect(sampleValue(samples, 'tsocat_bytes_total', { relay: 'alpha', direction: 'left_to_right' })).toBe(6000);
    expect(sampleValue(samples, 'tsocat_bytes_total', { relay: 'alpha', direction: 'right_to_left' })).toBe(140000);
    expect(sampleValue(samples, 'tsocat_bytes_total', { relay: 'beta', direction: 'left_to_right' })).toBe(123457);
    expect(sampleValue(samples, 'tsocat_bytes_total', { relay: 'beta', direction: 'right_to_left' })).toBe(11);
    expect(sampleValue(samples, 'tsocat_sessions_total', { relay: 'alpha' })).toBe(2);
    expect(sampleValue(samples, 'tsocat_sessions_total', { relay: 'beta' })).toBe(1);
    expect(sampleValue(samples, 'tsocat_sessions_open', { relay: 'alpha' })).toBe(0);
    expect(sampleValue(samples, 'tsocat_errors_total', { relay: 'nowhere', kind: 'open' })).toBe(1);
    expect(sampleValue(samples, 'tsocat_errors_total', { relay: 'alpha', kind: 'open' })).toBe(0);

    // one JSON line per ended session: relay, peer, duration, bytes each way, end reason
    const ends = server
      .errors()
      .split('\n')
      .filter((l) => l.includes('"session-end"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ends.map((e) => [e.relay, e.bytesLeftToRight, e.bytesRightToLeft, e.reason])).toEqual([
      ['alpha', 3000, 70000, 'eof'],
      ['alpha', 3000, 70000, 'eof'],
      ['beta', 123457, 11, 'eof'],
    ]);
    expect(ends[0]?.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    for (const e of ends) expect(e.durationMs).toEqual(expect.any(Number));
  });

  it('a session still open shows in tsocat_sessions_open, and its bytes count before it ends', async (ctx) => {
    requireOrSkip(ctx, 'curl');
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const port = await freePort();
    const metricsPort = await freePort();
    const file = join(dir, 'relays.yaml');
    writeFileSync(file, `relays:\n  echo:\n    address1: TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr\n    address2: EXEC:cat\n`);
    const samples = await scrapeWithOpenSession(['serve', '--metrics', `127.0.0.1:${metricsPort}`, file], port, metricsPort, 500);
    expect(sampleValue(samples, 'tsocat_sessions_open', { relay: 'echo' })).toBe(1);
    expect(sampleValue(samples, 'tsocat_bytes_total', { relay: 'echo', direction: 'left_to_right' })).toBe(500);
    expect(sampleValue(samples, 'tsocat_bytes_total', { relay: 'echo', direction: 'right_to_left' })).toBe(500);
  });

  it('refuses a --metrics address it cannot use, in one line, and starts nothing', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, 'relays.yaml');
    writeFileSync(file, 'relays:\n  a:\n    address1: TCP-LISTEN:1,fork\n    address2: EXEC:cat\n');
    const r = await run(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'tsocat.js'), 'serve', '--metrics', 'localhost', file]);
    expect(r.stderr.replace(/^\S+ \S+ tsocat\[\d+\] /, '')).toBe('E --metrics: "localhost" is not <host>:<port> (e.g. 127.0.0.1:9464)\n');
    expect(r.status).toBe(1);
  });

  it('plain tsocat --log-format json ends each session with one line too: bytes each way and the reason', async () => {
    const r = await run(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'tsocat.js'), '--log-format', 'json', '-u', 'STDIO', '/dev/null'], { input: 'hello' });
    const ends = r.stderr
      .split('\n')
      .filter((l) => l.includes('"session-end"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ msg: 'session ended', bytesLeftToRight: 5, bytesRightToLeft: 0, reason: 'eof', status: 0 });
    expect(r.status).toBe(0);
  });

  it('plain tsocat --metrics serves the same counters for its one relay, named after the program (-lp)', async (ctx) => {
    requireOrSkip(ctx, 'curl');
    const port = await freePort();
    const metricsPort = await freePort();
    const args = ['--metrics', `127.0.0.1:${metricsPort}`, '-lp', 'edge', `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, 'EXEC:cat'];
    const samples = await scrapeWithOpenSession(args, port, metricsPort, 777);
    expect(sampleValue(samples, 'tsocat_bytes_total', { relay: 'edge', direction: 'left_to_right' })).toBe(777);
    expect(sampleValue(samples, 'tsocat_bytes_total', { relay: 'edge', direction: 'right_to_left' })).toBe(777);
    expect(sampleValue(samples, 'tsocat_sessions_open', { relay: 'edge' })).toBe(1);
  });

  it('tsocat_reconnects_total counts an address with reconnect connecting again after its server hung up', async (ctx) => {
    requireOrSkip(ctx, 'curl');
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    // the server hangs up on its first client as soon as it has read something, and keeps the second
    let accepted = 0;
    const upstream = createServer((s) => {
      accepted++;
      s.on('error', () => {});
      if (accepted === 1) s.once('data', () => s.end());
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => upstream.close());
    const [port, metricsPort] = [await freePort(), await freePort()];
    const file = join(dir, 'relays.yaml');
    const target = `TCP:127.0.0.1:${(upstream.address() as { port: number }).port},reconnect,interval=0.1`;
    writeFileSync(file, `relays:\n  link:\n    address1: TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr\n    address2: "${target}"\n`);
    const server = startTsocat(['serve', '--metrics', `127.0.0.1:${metricsPort}`, file]);
    cleanups.push(() => stop(server));
    await waitForPort(port);
    await waitForPort(metricsPort);
    const client = connect(port, '127.0.0.1');
    cleanups.push(() => client.destroy());
    client.write('hello');
    await waitFor(() => accepted === 2, 5000, 'the reconnection');
    // the server accepts a moment before the relay counts its connect: scrape until it shows (bounded)
    let samples = await scrape(metricsPort);
    for (let i = 0; i < 50 && sampleValue(samples, 'tsocat_reconnects_total', { relay: 'link' }) === 0; i++) samples = await scrape(metricsPort);
    expect(sampleValue(samples, 'tsocat_reconnects_total', { relay: 'link' })).toBe(1);
    expect(sampleValue(samples, 'tsocat_sessions_open', { relay: 'link' })).toBe(1);
  });
});
