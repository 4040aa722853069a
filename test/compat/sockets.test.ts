/**
 * Socket, TCP, listen and retry options through tsocat and through real
 * socat: the same exit status, the same error text where both versions of
 * socat agree, and the same state seen from outside (ss, getsockopt, the peer).
 * Debian's socat is 1.7.4; where socat 1.8 changed a default (reuseaddr on
 * TCP listeners) the comparison uses a 1.8 build when one is present.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, requireOrSkip, requires, run, type RunResult, SOCAT, socat18OrSkip, startTsocat, stop, tcpExchange, tempDir, TSOCAT, waitFor, waitForPort } from '../helpers.js';
import { blackholeListener, quietServers, sockoptProbe, ss } from '../socket-helpers.js';


type Tool = { name: string; command: string[] };
const TOOLS = (socat: string | undefined): Tool[] => [
  { name: 'tsocat', command: [process.execPath, TSOCAT] },
  ...(socat ? [{ name: 'socat', command: [socat] }] : []),
];

function runTool(tool: Tool, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const [command, ...first] = tool.command as [string, ...string[]];
  return run(command, [...first, ...args], opts);
}

/** The message of the last E line, without socat's time/program/pid prefix. */
const lastError = (stderr: string) => / E (.*)\n$/.exec(stderr)?.[1];

const started: Array<ReturnType<typeof startTsocat>> = [];
afterEach(async () => {
  for (const p of started.splice(0)) await stop(p);
});
/** Starts either tool in the background (startTsocat runs a given node script; socat runs directly). */
function startTool(tool: Tool, args: string[]): ReturnType<typeof startTsocat> {
  const p = tool.name === 'tsocat' ? startTsocat(args) : startSocat(tool.command[0] as string, args);
  started.push(p);
  return p;
}
function startSocat(binary: string, args: string[]): ReturnType<typeof startTsocat> {
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return Object.assign(child, { output: () => out, errors: () => err });
}

/** A loopback server that keeps every connection open and never writes. */
const { server: silentServer } = quietServers();

describe('socket options compared with socat', () => {
  requires('socat');
  const [ours, theirs] = TOOLS(SOCAT) as [Tool, Tool];

  it.each(['rcvbuf=1024', 'sndbuf=2048', 'keepalive', 'so-linger=1', 'nodelay', 'keepidle=3'])('FD:0,%s on a pipe: the same setsockopt failure', async (option) => {
    const onPipe = (tool: Tool) => run('sh', ['-c', 'echo data | exec "$@"', 'sh', ...tool.command, '-u', `FD:0,${option}`, 'STDOUT']);
    const [a, b] = await Promise.all([onPipe(ours), onPipe(theirs)]);
    expect({ status: a.status, error: lastError(a.stderr), out: a.stdout.toString() }).toEqual({ status: b.status, error: lastError(b.stderr), out: b.stdout.toString() });
    expect(b.status).toBe(1);
  });

  it.each(['bind=127.0.0.1', 'reuseaddr', 'setsockopt-int=1:8:1024', 'connect-timeout=1', 'pf=ip4'])('FD:0,%s: refused, as socat refuses it', async (option) => {
    const onPipe = (tool: Tool) => run('sh', ['-c', 'echo data | exec "$@"', 'sh', ...tool.command, '-u', `FD:0,${option}`, 'STDOUT']);
    const [a, b] = await Promise.all([onPipe(ours), onPipe(theirs)]);
    expect([a.status, a.stdout.toString()]).toEqual([b.status, b.stdout.toString()]);
    expect(b.status).toBe(1);
  });

  it('range: the same refusal log line for a peer from outside, the same reply for one from inside', async () => {
    const outcomes = [];
    for (const tool of [ours, theirs]) {
      const port = await freePort();
      // -d: socat 1.7 logs warnings only when asked
      const p = startTool(tool, ['-d', `TCP4-LISTEN:${port},fork,range=127.0.0.2/32`, 'SYSTEM:echo from $SOCAT_PEERADDR']);
      await waitForPort(port);
      const outside = await runTool(ours, ['-', `TCP4:127.0.0.1:${port}`], { input: '' });
      await waitFor(() => p.errors().includes('due to range option'));
      const inside = await runTool(ours, ['-', `TCP4:127.0.0.1:${port},bind=127.0.0.2`], { input: '' });
      const refusal = / W (refusing connection from AF=2 127\.0\.0\.1):\d+ (due to range option)\n/.exec(p.errors());
      outcomes.push([outside.stdout.toString(), inside.stdout.toString(), refusal?.slice(1).join(' ')]);
    }
    expect(outcomes[0]).toEqual(outcomes[1]);
    expect(outcomes[1]).toEqual(['', 'from 127.0.0.2\n', 'refusing connection from AF=2 127.0.0.1 due to range option']);
  });

  it('the accepted socket carries the same nodelay, keepalive, keepidle and linger', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const seen = [];
      for (const tool of [ours, theirs]) {
        const port = await freePort();
        startTool(tool, [`TCP4-LISTEN:${port},nodelay,keepalive,keepidle=9,linger=3`, sockoptProbe(dir)]);
        await waitForPort(port);
        seen.push((await tcpExchange(port, '', { halfClose: false })).toString().trim());
      }
      expect(seen).toEqual(['1 1 9 1,3', '1 1 9 1,3']);
    } finally {
      cleanup();
    }
  });

  it('rcvbuf and sndbuf give the client socket the same kernel buffers', async () => {
    const buffers = [];
    for (const tool of [ours, theirs]) {
      const { port, connected } = await silentServer();
      const p = startTool(tool, ['-u', `TCP4:127.0.0.1:${port},rcvbuf=24576,sndbuf=40960`, 'STDOUT']);
      const served = await connected;
      const sizes = () => ss('tm', `sport = :${served.remotePort}`).join(' ');
      // tsocat sets them just after connect(), socat before: wait until they are in place (or 2 s), then compare
      await waitFor(() => sizes().includes('rb49152'), 2000).catch(() => {});
      buffers.push(/rb\d+,t\d+,tb\d+/.exec(sizes())?.[0].replace(/,t\d+,/, ','));
      await stop(p);
    }
    expect(buffers[0]).toBe(buffers[1]);
    expect(buffers[0]).toBe('rb49152,tb81920');
  });

  it('linger=0 resets the connection at the end as socat does: the peer is not left in CLOSE-WAIT', async () => {
    const leftOpen: Record<string, boolean[]> = {};
    for (const tool of [ours, theirs]) {
      for (const option of ['', ',linger=0']) {
        const { port, connected } = await silentServer();
        const r = await runTool(tool, ['-T', '0.2', '-u', `TCP4:127.0.0.1:${port}${option}`, 'STDOUT']);
        expect(r.status).toBe(0);
        await connected;
        (leftOpen[tool.name] ??= []).push(ss('tan', `state close-wait sport = :${port}`).length === 1);
      }
    }
    expect(leftOpen).toEqual({ tsocat: [true, false], socat: [true, false] });
  });

  it('backlog: the same listen queue length in ss', async () => {
    const queues = [];
    for (const tool of [ours, theirs]) {
      const port = await freePort();
      startTool(tool, [`TCP4-LISTEN:${port},backlog=7`, 'PIPE']);
      await waitForPort(port);
      queues.push(ss('ltn', `sport = :${port}`)[0]?.trim().split(/\s+/)[2]);
    }
    expect(queues).toEqual(['7', '7']);
  });

  it('connect-timeout: both give up on a connect nobody answers, with the same error', async () => {
    const port = await freePort();
    const close = blackholeListener(port);
    const filler = connect({ port, host: '127.0.0.1' });
    try {
      await new Promise((resolve, reject) => filler.once('connect', resolve).once('error', reject));
      const results = await Promise.all([ours, theirs].map((tool) => runTool(tool, ['-', `TCP4:127.0.0.1:${port},connect-timeout=0.5`], { input: '', timeoutMs: 8000 })));
      for (const r of results) {
        expect(r.status).toBe(1);
        expect(lastError(r.stderr)).toMatch(new RegExp(`AF=2 127\\.0\\.0\\.1:${port}.*: Connection timed out$`));
      }
    } finally {
      filler.destroy();
      close();
    }
  });

  it('retry=5 with a short interval: both fail after the same tries, well before the default interval would allow', async () => {
    const port = await freePort();
    for (const tool of [ours, theirs]) {
      const began = Date.now();
      const r = await runTool(tool, ['-', `TCP4:127.0.0.1:${port},retry=5,interval=0.05`], { input: '' });
      expect(r.status).toBe(1);
      expect(lastError(r.stderr)).toMatch(/Connection refused$/);
      // five waits of 0.05 s; the default interval would take five seconds
      expect(Date.now() - began).toBeLessThan(4000);
    }
  });
});

describe('reuseaddr on a client whose source port is in TIME_WAIT, compared with socat', () => {
  requires('socat');
  it('without reuseaddr both fail to bind; with it both connect', async () => {
    const [first, second] = [await freePort(), await freePort()];
    startTool(TOOLS(undefined)[0] as Tool, [`TCP4-LISTEN:${first},bind=127.0.0.1,fork`, 'PIPE']);
    startTool(TOOLS(undefined)[0] as Tool, [`TCP4-LISTEN:${second},bind=127.0.0.1,fork`, 'SYSTEM:echo served']);
    await waitForPort(first);
    await waitForPort(second);
    const outcomes: Record<string, unknown[]> = {};
    for (const tool of TOOLS(SOCAT)) {
      const source = await freePort();
      // the client ends first, so its side waits in TIME_WAIT on the source port; the kernel lets
      // a bind share a port with it only when both sockets have SO_REUSEADDR
      await runTool(tool, ['-', `TCP4:127.0.0.1:${first},sourceport=${source},reuseaddr`], { input: '' });
      expect(ss('tan', `state time-wait sport = :${source}`)).not.toEqual([]);
      const plain = await runTool(tool, ['-', `TCP4:127.0.0.1:${second},sourceport=${source}`], { input: '' });
      const reusing = await runTool(tool, ['-', `TCP4:127.0.0.1:${second},sourceport=${source},reuseaddr`], { input: '' });
      outcomes[tool.name] = [plain.status, /Address already in use$/.test(lastError(plain.stderr) ?? ''), reusing.status, reusing.stdout.toString()];
    }
    expect(outcomes).toEqual({ tsocat: [1, true, 0, 'served\n'], socat: [1, true, 0, 'served\n'] });
  });
});

describe('reuseaddr and a port in TIME_WAIT, compared with socat', () => {
  /** Leaves the listener's side of a finished connection in TIME_WAIT on `port` (the server ends first). */
  async function timeWait(port: number): Promise<void> {
    const server = startTsocat([`TCP4-LISTEN:${port},bind=127.0.0.1`, 'SYSTEM:echo hi']);
    await waitForPort(port);
    expect((await tcpExchange(port, 'x', { halfClose: false })).toString()).toBe('hi\n');
    await new Promise((resolve) => (server.exitCode !== null ? resolve(null) : server.once('exit', resolve)));
    expect(ss('tan', `state time-wait sport = :${port}`)).not.toEqual([]);
  }
  let port = 0;
  beforeEach(async () => {
    port = await freePort();
    await timeWait(port);
  });

  it('reuseaddr=0: bind fails in both', async (ctx) => {
    requireOrSkip(ctx, 'socat');
    for (const tool of TOOLS(SOCAT)) {
      const r = await runTool(tool, [`TCP4-LISTEN:${port},bind=127.0.0.1,reuseaddr=0`, 'PIPE']);
      expect(r.status, tool.name).toBe(1);
      expect(lastError(r.stderr), tool.name).toMatch(new RegExp(`^bind\\(.*AF=2 127\\.0\\.0\\.1:${port}.*\\): Address already in use$`));
    }
  });

  it('no reuseaddr option: socat 1.8 and tsocat listen (socat 1.8 turns it on for TCP listeners)', async (ctx) => {
    const socat18 = socat18OrSkip(ctx, 'Debian ships 1.7.4.4, whose default differs');
    for (const tool of TOOLS(socat18)) {
      const p = startTool(tool, ['-u', `TCP4-LISTEN:${port},bind=127.0.0.1`, 'STDOUT']);
      await waitForPort(port);
      await tcpExchange(port, `${tool.name}\n`);
      await waitFor(() => p.output() === `${tool.name}\n`);
      await waitFor(() => p.exitCode !== null);
    }
  });
});
