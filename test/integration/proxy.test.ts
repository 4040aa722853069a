/**
 * PROXY through a real tinyproxy started by each test on loopback (its config
 * written by the test), to an echo server of the test's own. tinyproxy drops the
 * whole tunnel on the client's half-close, so a test keeps tsocat's input open
 * (endInputAfter) until the echo it expects is back: it tests tsocat, not that race.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort, requireOrSkip, tempDir, tsocat } from '../helpers.js';
import { echoServers, peerStarter, tinyproxyCommand } from '../tls-peers.js';

const echoServer = echoServers();
const startPeer = peerStarter();
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/** tinyproxy on 127.0.0.1 letting CONNECT through to `allowedPort` only; with `auth`, Basic authorization "user password". */
async function tinyproxy(allowedPort: number, auth?: string) {
  const port = await freePort();
  const [cmd, args] = tinyproxyCommand(tmp.dir, port, allowedPort, auth);
  const proc = await startPeer(cmd, args, port);
  return { port, log: proc.log };
}

const E_LINES = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d tsocat\[\d+\] E .*$/gm;

describe('PROXY: HTTP CONNECT through tinyproxy', () => {
  beforeEach((ctx) => requireOrSkip(ctx, 'tinyproxy'));

  it('reaches a local server through the proxy (proxyport)', async () => {
    const target = await echoServer();
    const proxy = await tinyproxy(target);
    const r = await tsocat(['-', `PROXY:127.0.0.1:127.0.0.1:${target},proxyport=${proxy.port}`], { input: 'through the proxy\n', endInputAfter: 'through the proxy\n' });
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe('hello from echo\nthrough the proxy\n');
    expect(r.status).toBe(0);
    expect(proxy.log()).toContain(`CONNECT 127.0.0.1:${target} HTTP/1.0`);
  });

  it('a 403 from the proxy is one E line with its status line, exit 1', async () => {
    const target = await echoServer();
    const proxy = await tinyproxy(target + 1 === 65536 ? target - 1 : target + 1);
    const r = await tsocat(['-', `PROXY:127.0.0.1:127.0.0.1:${target},proxyport=${proxy.port}`], { input: 'x\n' });
    expect(r.stderr.match(E_LINES)).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(` E CONNECT 127\\.0\\.0\\.1:${target} HTTP/1\\.0: HTTP/1\\.[01] 403 `));
    expect(r.stdout.toString()).toBe('');
    expect(r.status).toBe(1);
  });

  it('proxy-authorization and proxy-authorization-file: Basic credentials pass; wrong ones get the 407 as one E line; no log line shows them', async () => {
    const target = await echoServer();
    const proxy = await tinyproxy(target, 'alice pr0xy-pa55');
    const good = await tsocat(['-', `PROXY:127.0.0.1:127.0.0.1:${target},proxyport=${proxy.port},proxyauth=alice:pr0xy-pa55`], { input: 'authorized\n', endInputAfter: 'authorized\n' });
    expect(good.stdout.toString()).toBe('hello from echo\nauthorized\n');
    const file = join(tmp.dir, 'proxy-auth');
    writeFileSync(file, 'alice:pr0xy-pa55');
    const fromFile = await tsocat(['-d', '-d', '-d', '-d', '-', `PROXY:127.0.0.1:127.0.0.1:${target},proxyport=${proxy.port},proxy-authorization-file=${file}`], { input: 'from file\n', endInputAfter: 'from file\n' });
    expect(fromFile.stdout.toString()).toBe('hello from echo\nfrom file\n');
    const wrong = await tsocat(['-d', '-d', '-d', '-d', '-', `PROXY:127.0.0.1:127.0.0.1:${target},proxyport=${proxy.port},proxy-authorization=alice:guess`], { input: 'x\n' });
    expect(wrong.stderr.match(E_LINES)).toEqual([expect.stringMatching(/ E CONNECT 127\.0\.0\.1:\d+ HTTP\/1\.0: HTTP\/1\.[01] 40[17] /)]);
    expect(wrong.status).toBe(1);
    for (const log of [fromFile.stderr, wrong.stderr]) {
      expect(log).toContain(' I sending "CONNECT ');
      for (const secret of ['pr0xy-pa55', 'guess', Buffer.from('alice:pr0xy-pa55').toString('base64'), Buffer.from('alice:guess').toString('base64')]) expect(log).not.toContain(secret);
    }
  });

  it('proxy-authorization-file: the file\'s bytes whole, a final newline included, as socat sends them', async () => {
    // a proxy that records the request and lets the client through
    let request = '';
    const server = createServer((s: Socket) => {
      s.on('data', (d: Buffer) => {
        request += d.toString('latin1');
        if (request.includes('\r\n\r\n')) s.end('HTTP/1.0 200 OK\r\n\r\n');
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const file = join(tmp.dir, 'proxy-auth-newline');
      writeFileSync(file, 'user:s3cr3t\n');
      const r = await tsocat(['/dev/null', `PROXY:127.0.0.1:127.0.0.1:1000,proxyport=${port},proxy-authorization-file=${file}`]);
      expect(r.status).toBe(0);
      // socat's test.sh PROXYAUTHFILE looks for exactly this line
      expect(request.split('\r\n')).toContain('Proxy-authorization: Basic dXNlcjpzM2NyM3QK');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('resolve: the proxy is asked for the address, not the name; http-version=1.1 asks in HTTP/1.1', async () => {
    const target = await echoServer();
    const proxy = await tinyproxy(target);
    const byName = await tsocat(['-', `PROXY:127.0.0.1:localhost:${target},proxyport=${proxy.port},http-version=1.1`], { input: 'n\n', endInputAfter: 'n\n' });
    expect(byName.stdout.toString()).toBe('hello from echo\nn\n');
    expect(proxy.log()).toContain(`CONNECT localhost:${target} HTTP/1.1`);
    const resolved = await tsocat(['-', `PROXY:127.0.0.1:localhost:${target},proxyport=${proxy.port},resolve`], { input: 'r\n', endInputAfter: 'r\n' });
    expect(resolved.stdout.toString()).toBe('hello from echo\nr\n');
    expect(proxy.log()).toMatch(new RegExp(`CONNECT (127\\.0\\.0\\.1|\\[::1\\]):${target} HTTP/1\\.0`));
  });
});

describe('PROXY: answers a proxy should not give', () => {
  /** A peer that answers every request with `answer` (and, once that is whole, a marker line) and hangs up. */
  async function oddProxy(answer: string, trailer = 'after the answer\n') {
    const server = createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end(`${answer}${trailer}`));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return { port: (server.address() as { port: number }).port, close: () => new Promise((r) => server.close(() => r(undefined))) };
  }

  it('lines ended by LF alone are refused, and accepted with ignorecr', async () => {
    const proxy = await oddProxy('HTTP/1.0 200 OK\nX-Odd: yes\n\n');
    try {
      const strict = await tsocat(['-u', `PROXY:127.0.0.1:somewhere:80,proxyport=${proxy.port}`, 'STDOUT']);
      expect(strict.stderr).toMatch(/ E proxy: invalid answer "HTTP\/1\.0 200 OK": line not ended by CRLF/);
      expect(strict.status).toBe(1);
      const lenient = await tsocat(['-u', `PROXY:127.0.0.1:somewhere:80,proxyport=${proxy.port},ignorecr`, 'STDOUT']);
      expect(lenient.stderr).toBe('');
      expect(lenient.stdout.toString()).toBe('after the answer\n');
    } finally {
      await proxy.close();
    }
  });

  it('only 200 opens the tunnel, as in socat: a 302 with a body, a 100 Continue before a 200, a 204 are one E line each and nothing is relayed', async () => {
    for (const [answer, status] of [
      ['HTTP/1.1 302 Found\r\nLocation: http://elsewhere/\r\nContent-Length: 17\r\n\r\n', '302 Found'],
      ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n', '100 Continue'],
      ['HTTP/1.1 204 No Content\r\n\r\n', '204 No Content'],
    ] as const) {
      // the marker line after the answer stands for a redirect's body or the data of a tunnel opened too early
      const proxy = await oddProxy(answer);
      try {
        const r = await tsocat(['-u', `PROXY:127.0.0.1:somewhere:80,proxyport=${proxy.port}`, 'STDOUT']);
        expect(r.stderr.match(E_LINES), r.stderr).toHaveLength(1);
        expect(r.stderr).toContain(` E CONNECT somewhere:80 HTTP/1.0: HTTP/1.1 ${status}`);
        expect(r.stdout.toString()).toBe('');
        expect(r.status).toBe(1);
      } finally {
        await proxy.close();
      }
    }
  });

  it('garbage and a proxy that hangs up mid-answer: one E line each', async () => {
    for (const [answer, message] of [
      ['SSH-2.0-OpenSSH_9.2\r\n', /E proxy: invalid answer "SSH-2\.0-OpenSSH_9\.2"/],
      ['HTTP/1.1 200 Connection established\r\nVia: x', /E proxy 127\.0\.0\.1:\d+: reading CONNECT answer: end of file after \d+ bytes/],
    ] as const) {
      const proxy = await oddProxy(answer, '');
      try {
        const r = await tsocat(['-u', `PROXY:127.0.0.1:somewhere:80,proxyport=${proxy.port}`, 'STDOUT']);
        expect(r.stderr.match(E_LINES)).toHaveLength(1);
        expect(r.stderr).toMatch(message);
        expect(r.status).toBe(1);
      } finally {
        await proxy.close();
      }
    }
  });

  it('a proxy that never answers, or stops mid-answer: connect-timeout=1 ends the wait after 1 s, one E line (socat 1.7.4 and 1.8 wait for ever)', async () => {
    const held: Socket[] = [];
    const stalling = (reply: string) =>
      createServer((s) => {
        held.push(s);
        s.on('error', () => {});
        s.once('data', () => (reply ? s.write(reply) : undefined));
      });
    const servers = [stalling(''), stalling('HTTP/1.0 200 Connection established\r\n')];
    try {
      const ports = await Promise.all(servers.map((server) => new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)))));
      const closed = await freePort();
      /** A run timed beside a twin that fails at once (nothing listens): Node's start-up counts in both and cancels out. */
      const timed = async (port: number) => {
        const began = Date.now();
        const r = await tsocat(['-', `PROXY:127.0.0.1:somewhere:80,proxyport=${port},connect-timeout=1`], { input: 'hi', timeoutMs: 8000 });
        return { r, ms: Date.now() - began };
      };
      for (const port of ports) {
        const [slow, quick] = await Promise.all([timed(port), timed(closed)]);
        expect(quick.r.stderr).toMatch(/ E connect\(AF=2 127\.0\.0\.1:\d+\): Connection refused\n$/);
        expect(slow.r.stderr.match(E_LINES), slow.r.stderr).toEqual([expect.stringMatching(new RegExp(` E proxy 127\\.0\\.0\\.1:${port}: reading CONNECT answer: Connection timed out$`))]);
        expect(slow.r.status).toBe(1);
        // (the refused twin's start-up varies by ±200 ms under load: 600 still shows the wait was not skipped)
        expect(slow.ms - quick.ms).toBeGreaterThanOrEqual(600);
        expect(slow.ms - quick.ms).toBeLessThan(2500);
      }
    } finally {
      for (const s of held) s.destroy();
      await Promise.all(servers.map((server) => new Promise((r) => server.close(() => r(undefined)))));
    }
  });
});
