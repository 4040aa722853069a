/**
 * HAProxy's PROXY protocol, versions 1 and 2: headers read by
 * TCP-LISTEN,proxy-protocol and sent by proxy-protocol-send, checked byte for
 * byte against the specification (haproxy.org/download/3.0/doc/proxy-protocol.txt,
 * §2.1 for the text form, §2.2 for the binary one).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, requireOrSkip, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';
import { peerStarter } from '../tls-peers.js';

const start = backgroundStarter();
const startPeer = peerStarter();
const servers: Server[] = [];
const tempDirs: Array<() => void> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(() => r(undefined)));
  for (const cleanup of tempDirs.splice(0)) cleanup();
});

/** §2.2: the v2 signature, then version 2 / command, family / transport, length, addresses. */
const SIGNATURE = '0d0a0d0a000d0a515549540a';
const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const port16 = (n: number) => n.toString(16).padStart(4, '0');

/** The spec's own example line (§2.1) and its worst cases. */
const V1_TCP4 = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n';
const V1_TCP6_WORST = `PROXY TCP6 ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`;
const V1_UNKNOWN_WORST = `PROXY UNKNOWN ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`;
/** The same connection as V1_TCP4 in v2: PROXY command (0x21), TCP over IPv4 (0x11), 12 bytes. */
const V2_TCP4 = hex(`${SIGNATURE} 21 11 000c c0a80001 c0a8000b dc04 01bb`);
/** TCP over IPv6 (0x21), 36 bytes: 2001:db8::1 port 1234 to 2001:db8::2 port 443. */
const V2_TCP6 = hex(`${SIGNATURE} 21 21 0024 20010db8000000000000000000000001 20010db8000000000000000000000002 04d2 01bb`);
/** LOCAL (0x20): the proxy's own connection (a health check); no addresses. */
const V2_LOCAL = hex(`${SIGNATURE} 20 00 0000`);

/** Sends `bytes` to 127.0.0.1:port, half-closes, and returns what came back and the client's own port. */
function exchange(port: number, bytes: Buffer | string): Promise<{ reply: string; clientPort: number }> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('connect', () => s.end(bytes));
    s.on('end', () => {
      resolve({ reply: Buffer.concat(chunks).toString('latin1'), clientPort: s.localPort as number });
      s.end();
    });
  });
}

/** Connects to 127.0.0.1:port and waits for the first line, keeping its own side open (a proxy in between may drop a client that ends before the server is reached). */
function firstLine(port: number): Promise<{ reply: string; clientPort: number }> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    let text = '';
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\n')) {
        resolve({ reply: text, clientPort: s.localPort as number });
        s.destroy();
      }
    });
  });
}

/** TCP-LISTEN,proxy-protocol in front of a program that prints what it was told of its peer. */
async function receiver(extra = ''): Promise<{ port: number; errors: () => string }> {
  const port = await freePort();
  const child = start(['-d', '-d', `TCP-LISTEN:${port},bind=127.0.0.1,fork,proxy-protocol${extra}`, 'SYSTEM:echo $SOCAT_PEERADDR $SOCAT_PEERPORT $SOCAT_SOCKADDR $SOCAT_SOCKPORT; cat']);
  await waitForPort(port);
  return { port, errors: child.errors };
}

/** A TCP server that records each connection's bytes until the client ends. */
async function recorder(): Promise<{ port: number; received: Buffer[] }> {
  const received: Buffer[] = [];
  const server = createServer({ allowHalfOpen: true }, (c) => {
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('error', () => {});
    c.on('end', () => {
      received.push(Buffer.concat(chunks));
      c.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, received };
}

describe('TCP-LISTEN,proxy-protocol reads the header; the client it names is the peer', () => {
  it.each([
    ['v1 TCP4 (the spec example)', V1_TCP4, '192.168.0.1 56324 192.168.0.11 443\n'],
    ['v1 TCP6 (the longest addresses)', V1_TCP6_WORST, `[${'ffff:'.repeat(7)}ffff] 65535 [${'ffff:'.repeat(7)}ffff] 65535\n`],
    ['v2 TCP over IPv4', V2_TCP4, '192.168.0.1 56324 192.168.0.11 443\n'],
    ['v2 TCP over IPv6', V2_TCP6, '[2001:0db8:0000:0000:0000:0000:0000:0001] 1234 [2001:0db8:0000:0000:0000:0000:0000:0002] 443\n'],
  ])('%s: SOCAT_PEERADDR and SOCAT_SOCKADDR are the header\'s, and the bytes after it reach the program', async (_name, header, told) => {
    const { port, errors } = await receiver();
    const { reply } = await exchange(port, Buffer.concat([Buffer.from(header), Buffer.from('after the header\n')]));
    expect(reply).toBe(`${told}after the header\n`);
    expect(errors()).toMatch(/ N PROXY protocol v[12] header from AF=2 127\.0\.0\.1:\d+: client AF=(2|10) \S+\n/);
  });

  it.each([
    ['v1 UNKNOWN (the longest line, 107 bytes)', V1_UNKNOWN_WORST],
    ['v2 LOCAL', V2_LOCAL],
  ])('%s: no client named, the connection\'s own addresses stay', async (_name, header) => {
    expect(Buffer.byteLength(header)).toBeLessThanOrEqual(107);
    const { port } = await receiver();
    const { reply, clientPort } = await exchange(port, header);
    expect(reply).toBe(`127.0.0.1 ${clientPort} 127.0.0.1 ${port}\n`);
  });

  it('range= applies to the client the header names, not to the proxy that connected', async () => {
    const { port, errors } = await receiver(',range=192.168.0.0/16');
    // the proxy (127.0.0.1) is outside the range; the client it speaks for is inside
    expect((await exchange(port, V1_TCP4)).reply).toBe('192.168.0.1 56324 192.168.0.11 443\n');
    const refused = await exchange(port, 'PROXY TCP4 10.0.0.1 192.168.0.11 1234 443\r\n');
    expect(refused.reply).toBe('');
    await waitFor(() => /due to range option/.test(errors()), 5000, 'the refusal logged');
    expect(errors()).toMatch(/ E refusing connection from AF=2 10\.0\.0\.1:1234 \(via AF=2 127\.0\.0\.1:\d+\) due to range option\n/);
  });

  it.each([
    ['no header at all', 'hello\r\n', 'missing (the connection does not start with "PROXY " or the version 2 signature)'],
    ['a v1 address that is not one', 'PROXY TCP4 1.2.3 192.168.0.11 1 2\r\n', 'bad TCP4 address "1.2.3"'],
    ['a v1 port out of range', 'PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n', 'bad port "65536"'],
    ['a v1 address with leading zeros', 'PROXY TCP4 192.168.0.01 192.168.0.11 1 2\r\n', 'bad TCP4 address "192.168.0.01"'],
    ['a v1 line without CRLF within 107 bytes', `PROXY TCP4 ${'1'.repeat(120)}`, 'version 1 line longer than 107 bytes'],
    ['a v1 protocol that does not exist', 'PROXY UDP4 192.168.0.1 192.168.0.11 1 2\r\n', 'unknown protocol "UDP4" (TCP4, TCP6 or UNKNOWN)'],
    ['a v2 header of version 3', hex(`${SIGNATURE} 31 11 000c c0a80001 c0a8000b dc04 01bb`), 'version 3 after the version 2 signature'],
    ['a v2 header shorter than its addresses', hex(`${SIGNATURE} 21 11 0004 c0a80001`), '4 bytes of addresses, 12 needed'],
  ])('%s: refused with one E line', async (_name, bytes, why) => {
    const port = await freePort();
    const r = tsocat([`TCP-LISTEN:${port},bind=127.0.0.1,proxy-protocol`, 'SYSTEM:echo should not run'], { timeoutMs: 10000 });
    await waitForPort(port);
    const { reply } = await exchange(port, bytes);
    const result = await r;
    expect(reply).toBe('');
    expect(result.status).toBe(1);
    const escaped = why.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(result.stderr).toMatch(new RegExp(`^\\S+ \\S+ tsocat\\[\\d+\\] E PROXY protocol header from AF=2 127\\.0\\.0\\.1:\\d+: ${escaped}\\n$`));
  });

  it('a peer that ends before its header is complete is refused with one E line', async () => {
    const port = await freePort();
    const r = tsocat([`TCP-LISTEN:${port},bind=127.0.0.1,proxy-protocol`, 'SYSTEM:echo should not run'], { timeoutMs: 10000 });
    await waitForPort(port);
    await exchange(port, 'PROXY TCP4 192.168');
    const result = await r;
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^\S+ \S+ tsocat\[\d+\] E PROXY protocol header from AF=2 127\.0\.0\.1:\d+: reading it: end of file after 18 bytes\n$/);
  });
});

describe('proxy-protocol-send writes the header first', () => {
  /** TCP-LISTEN:L TCP:<recorder>,proxy-protocol-send=<version>; a client from 127.0.0.1 sends `hi`. */
  async function relayed(version: string, listen = 'TCP-LISTEN', host = '127.0.0.1'): Promise<{ bytes: Buffer; clientPort: number; listenPort: number }> {
    const target = await recorder();
    const listenPort = await freePort();
    start([`${listen}:${listenPort},bind=${host},fork`, `TCP:127.0.0.1:${target.port},proxy-protocol-send=${version}`]);
    await waitForPort(listenPort);
    const clientPort = await new Promise<number>((resolve, reject) => {
      const s = connect({ port: listenPort, host, allowHalfOpen: true });
      s.on('error', reject);
      s.on('connect', () => {
        resolve(s.localPort as number);
        s.end('hi');
      });
      s.resume();
    });
    await waitFor(() => target.received.length === 1, 5000, 'the relayed connection');
    return { bytes: target.received[0] as Buffer, clientPort, listenPort };
  }

  it('v1 over IPv4: the text line for address 1\'s client and the address it reached, then the data', async () => {
    const { bytes, clientPort, listenPort } = await relayed('v1');
    expect(bytes.toString('latin1')).toBe(`PROXY TCP4 127.0.0.1 127.0.0.1 ${clientPort} ${listenPort}\r\nhi`);
  });

  it('v2 over IPv4: signature, 0x21, 0x11, length 12, addresses and ports, then the data', async () => {
    const { bytes, clientPort, listenPort } = await relayed('v2');
    expect(bytes.toString('hex')).toBe(hex(`${SIGNATURE} 21 11 000c 7f000001 7f000001 ${port16(clientPort)} ${port16(listenPort)}`).toString('hex') + Buffer.from('hi').toString('hex'));
  });

  it('v1 and v2 over IPv6 (TCP6-LISTEN on ::1)', async () => {
    const v1 = await relayed('v1', 'TCP6-LISTEN', '::1');
    expect(v1.bytes.toString('latin1')).toBe(`PROXY TCP6 ::1 ::1 ${v1.clientPort} ${v1.listenPort}\r\nhi`);
    const v2 = await relayed('v2', 'TCP6-LISTEN', '::1');
    const loopback = `${'00'.repeat(15)}01`;
    expect(v2.bytes.toString('hex')).toBe(hex(`${SIGNATURE} 21 21 0024 ${loopback} ${loopback} ${port16(v2.clientPort)} ${port16(v2.listenPort)}`).toString('hex') + Buffer.from('hi').toString('hex'));
  });

  it('address 1 with no peer (STDIO): v1 UNKNOWN, v2 LOCAL', async () => {
    const target = await recorder();
    for (const version of ['v1', 'v2']) {
      const r = await tsocat(['-', `TCP:127.0.0.1:${target.port},proxy-protocol-send=${version}`], { input: 'x' });
      expect(r.status).toBe(0);
    }
    await waitFor(() => target.received.length === 2, 5000, 'both connections');
    expect(target.received[0]?.toString('latin1')).toBe('PROXY UNKNOWN\r\nx');
    expect(target.received[1]).toEqual(Buffer.concat([V2_LOCAL, Buffer.from('x')]));
  });

  it('OPENSSL sends the header before its TLS handshake', async () => {
    // a server that takes the first 16 bytes and hangs up (the handshake then fails, as it should)
    let bytes = Buffer.alloc(0);
    const server = createServer((c) => {
      c.on('error', () => {});
      c.on('data', (d: Buffer) => {
        bytes = Buffer.concat([bytes, d]);
        if (bytes.length >= 16) c.destroy();
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const r = await tsocat(['-', `OPENSSL:127.0.0.1:${(server.address() as { port: number }).port},proxy-protocol-send=v1,verify=0`], { input: '', timeoutMs: 10000 });
    expect(r.status).toBe(1);
    expect(bytes.subarray(0, 15).toString('latin1')).toBe('PROXY UNKNOWN\r\n');
    // then a TLS handshake record (content type 22)
    expect(bytes[15]).toBe(0x16);
  });

  it('tsocat to tsocat: the receiving end sees the first one\'s client', async () => {
    const { port: inner } = await receiver();
    const outer = await freePort();
    start([`TCP-LISTEN:${outer},bind=127.0.0.1,fork`, `TCP:127.0.0.1:${inner},proxy-protocol-send=v2`]);
    await waitForPort(outer);
    const { reply, clientPort } = await exchange(outer, '');
    expect(reply).toBe(`127.0.0.1 ${clientPort} 127.0.0.1 ${outer}\n`);
  });
});

describe('with HAProxy, the protocol\'s reference implementation, at the other end', () => {
  /** haproxy in the foreground with one TCP frontend on `port` and one backend server line; stopped by its pid after the test. */
  async function haproxy(port: number, bind: string, server: string): Promise<void> {
    const dir = tempDir();
    tempDirs.push(dir.cleanup);
    const config = join(dir.dir, 'haproxy.cfg');
    writeFileSync(
      config,
      ['defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 10s', '  timeout server 10s', 'frontend f', `  bind 127.0.0.1:${port}${bind}`, '  default_backend b', 'backend b', `  server s ${server}`, ''].join('\n'),
    );
    await startPeer('haproxy', ['-db', '-f', config], port);
  }

  it.for(['send-proxy', 'send-proxy-v2'])('haproxy %s in front of TCP-LISTEN,proxy-protocol: the program sees the client that connected to haproxy', async (send, ctx) => {
    requireOrSkip(ctx, 'haproxy');
    const { port: inner } = await receiver();
    const front = await freePort();
    await haproxy(front, '', `127.0.0.1:${inner} ${send}`);
    const { reply, clientPort } = await firstLine(front);
    expect(reply).toBe(`127.0.0.1 ${clientPort} 127.0.0.1 ${front}\n`);
  });

  it.for(['v1', 'v2'])('proxy-protocol-send=%s to haproxy accept-proxy: haproxy passes on (send-proxy) the client tsocat named', async (version, ctx) => {
    requireOrSkip(ctx, 'haproxy');
    const target = await recorder();
    const front = await freePort();
    await haproxy(front, ' accept-proxy', `127.0.0.1:${target.port} send-proxy`);
    const outer = await freePort();
    start([`TCP-LISTEN:${outer},bind=127.0.0.1,fork`, `TCP:127.0.0.1:${front},proxy-protocol-send=${version}`]);
    await waitForPort(outer);
    const { clientPort } = await exchange(outer, 'through two proxies');
    await waitFor(() => target.received.length === 1, 5000, 'the connection through haproxy');
    expect(target.received[0]?.toString('latin1')).toBe(`PROXY TCP4 127.0.0.1 127.0.0.1 ${clientPort} ${outer}\r\nthrough two proxies`);
  });
});
