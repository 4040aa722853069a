/**
 * WS, WSS, WS-LISTEN and WSS-LISTEN against real WebSocket peers: the ws
 * package (what websocat's users talk to), and Debian's chromium for the
 * browser end. websocat's common command lines, as tsocat writes them, are in
 * docs/websocket.md.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { backgroundStarter, exited, freePort, startTsocat, stop, tsocat, waitFor, waitForPort } from '../helpers.js';
import { certificatesForFile } from '../tls-peers.js';
import { type Message, tcpEchoServers, wsClient, wsEchoServers } from '../ws-peers.js';

const start = backgroundStarter();
const wsEcho = wsEchoServers();
const tcpEcho = tcpEchoServers();
const { certs } = certificatesForFile();

/** A ws client that connected (fails the test on an HTTP refusal). */
async function connected(url: string, opts?: Parameters<typeof wsClient>[1]) {
  const c = await wsClient(url, opts);
  if ('status' in c) throw new Error(`refused with HTTP ${c.status}`);
  return c;
}

/** Waits until `messages` holds `count` messages. */
async function messagesIn(messages: Message[], count: number, ms = 10000): Promise<Message[]> {
  await waitFor(() => messages.length >= count, ms, `${count} WebSocket messages`);
  return messages;
}

/** A WS-LISTEN (or WSS-LISTEN) relay in the background, once it listens. */
async function listening(address: (port: number) => string, other: string): Promise<{ port: number; child: ReturnType<typeof start> }> {
  const port = await freePort();
  const child = start(['-d', '-d', address(port), other]);
  await waitForPort(port);
  return { port, child };
}

describe('websocat-style round trips with ws as the other end', () => {
  it('WS-LISTEN:P WS:ws://echo/: a 1 MB text message and a 1 MB binary one come back whole, each as one message of its kind', async () => {
    const echo = await wsEcho();
    const { port } = await listening((p) => `WS-LISTEN:${p},bind=127.0.0.1`, `WS:ws://127.0.0.1:${echo.port}/`);
    const client = await connected(`ws://127.0.0.1:${port}/`);
    const text = 'é-tsocat-'.repeat(116509).slice(0, 1 << 20);
    const binary = randomBytes(1 << 20);
    client.ws.send(text);
    client.ws.send(binary);
    const [first, second] = await messagesIn(client.messages, 2, 20000);
    expect(first?.binary).toBe(false);
    expect(first?.data.toString('utf8')).toBe(text);
    expect(second?.binary).toBe(true);
    expect(second?.data.equals(binary)).toBe(true);
    // and the far server saw them the same way: one message each, text then binary
    expect(echo.received.map((m) => [m.binary, m.data.length])).toEqual([
      [false, Buffer.byteLength(text)],
      [true, 1 << 20],
    ]);
    client.ws.close();
  });

  it('echo hello | tsocat - WS:ws://echo/: sent as a text message (UTF-8), echoed to stdout, and the relay ends', async () => {
    const echo = await wsEcho();
    const r = await tsocat(['-', `WS:ws://127.0.0.1:${echo.port}/`], { input: 'hello\n' });
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe('hello\n');
    expect(echo.received).toEqual([{ data: Buffer.from('hello\n'), binary: false }]);
  });

  it('ws-binary sends UTF-8 bytes as a binary message', async () => {
    const echo = await wsEcho({ echo: false });
    const r = await tsocat(['-u', '-', `WS:ws://127.0.0.1:${echo.port}/,ws-binary`], { input: 'hello\n' });
    expect(r.status).toBe(0);
    expect(echo.received).toEqual([{ data: Buffer.from('hello\n'), binary: true }]);
  });

  it('ws-text sends bytes that are not UTF-8 as a text message, each bad byte as U+FFFD', async () => {
    const echo = await wsEcho({ echo: false });
    const r = await tsocat(['-u', '-', `WS:ws://127.0.0.1:${echo.port}/,ws-text`], { input: Buffer.from([0xff, 0x41, 0x0a]) });
    expect(r.status).toBe(0);
    expect(echo.received).toEqual([{ data: Buffer.from('\ufffdA\n'), binary: false }]);
  });

  it('without ws-text, the same bytes go as a binary message, unchanged', async () => {
    const echo = await wsEcho({ echo: false });
    const r = await tsocat(['-u', '-', `WS:ws://127.0.0.1:${echo.port}/`], { input: Buffer.from([0xff, 0x41, 0x0a]) });
    expect(r.status).toBe(0);
    expect(echo.received).toEqual([{ data: Buffer.from([0xff, 0x41, 0x0a]), binary: true }]);
  });

  it('WS-LISTEN:P TCP:echo: text and binary messages from a ws client come back as bytes', async () => {
    const echoPort = await tcpEcho();
    const { port } = await listening((p) => `WS-LISTEN:${p},bind=127.0.0.1`, `TCP:127.0.0.1:${echoPort}`);
    const client = await connected(`ws://127.0.0.1:${port}/`);
    client.ws.send('text one');
    await messagesIn(client.messages, 1);
    client.ws.send(Buffer.from([0, 1, 2, 0xff]));
    await waitFor(() => Buffer.concat(client.messages.map((m) => m.data)).length === 12, 10000, 'both echoes');
    expect(client.messages[0]).toEqual({ data: Buffer.from('text one'), binary: false });
    expect(Buffer.concat(client.messages.slice(1).map((m) => m.data))).toEqual(Buffer.from([0, 1, 2, 0xff]));
    client.ws.close();
  });

  it('WS-LISTEN:P,fork TCP:echo serves two clients at once, each with its own connection', async () => {
    const echoPort = await tcpEcho();
    const { port } = await listening((p) => `WS-LISTEN:${p},bind=127.0.0.1,fork`, `TCP:127.0.0.1:${echoPort}`);
    const [a, b] = await Promise.all([connected(`ws://127.0.0.1:${port}/`), connected(`ws://127.0.0.1:${port}/`)]);
    a.ws.send('from a');
    b.ws.send('from b');
    expect((await messagesIn(a.messages, 1))[0]?.data.toString()).toBe('from a');
    expect((await messagesIn(b.messages, 1))[0]?.data.toString()).toBe('from b');
    a.ws.close();
    b.ws.close();
  });
});

describe('a server that never answers the upgrade', () => {
  it('WS:url,connect-timeout=0.5 gives up on the handshake after 0.5 s with one E line', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (silent.address() as { port: number }).port;
      const began = Date.now();
      const r = await tsocat(['-', `WS:ws://127.0.0.1:${port}/,connect-timeout=0.5`], { input: 'x', timeoutMs: 8000 });
      expect(r.status).toBe(1);
      expect(Date.now() - began).toBeGreaterThanOrEqual(500);
      expect(r.stderr).toMatch(/^\S+ \S+ tsocat\[\d+\] E WebSocket handshake with ws:\/\/127\.0\.0\.1:\d+\/: Opening handshake has timed out\n$/);
    } finally {
      silent.close();
    }
  });
});

describe('half-close', () => {
  it('a client that sends its close frame still gets what the relay sends after it (the answering close waits), status 0', async () => {
    const { port, child } = await listening((p) => `WS-LISTEN:${p},bind=127.0.0.1`, 'SYSTEM:cat; sleep 0.2; echo after end of data');
    const client = await connected(`ws://127.0.0.1:${port}/`);
    client.ws.send('last words\n');
    client.ws.close();
    await client.closed;
    expect(Buffer.concat(client.messages.map((m) => m.data)).toString()).toBe('last words\nafter end of data\n');
    expect(await exited(child, 5000)).toBe(0);
    expect(child.errors()).not.toMatch(/ E /);
  });
});

describe('messages and datagrams', () => {
  it('WS-LISTEN:P UDP:echo: each message is one datagram and each datagram one message, boundaries kept both ways', async () => {
    const { createSocket } = await import('node:dgram');
    const udp = createSocket('udp4');
    const datagrams: string[] = [];
    udp.on('message', (m, from) => {
      datagrams.push(m.toString());
      udp.send(m, from.port, from.address);
    });
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    try {
      const { port } = await listening((p) => `WS-LISTEN:${p},bind=127.0.0.1`, `UDP:127.0.0.1:${udp.address().port}`);
      const client = await connected(`ws://127.0.0.1:${port}/`);
      // (a datagram longer than -b, 8192 by default, would be cut short on the way back, as socat reads UDP)
      const sent = ['one', 'two', 'x'.repeat(8000)];
      for (const m of sent) client.ws.send(m);
      await messagesIn(client.messages, 3);
      expect(datagrams).toEqual(sent);
      expect(client.messages.map((m) => m.data.toString())).toEqual(sent);
      client.ws.close();
    } finally {
      udp.close();
    }
  });
});

describe('ws-ping: keepalive', () => {
  it('WS:url,ws-ping=0.2 pings the server every 0.2 s', async () => {
    const echo = await wsEcho();
    const child = start(['-', `WS:ws://127.0.0.1:${echo.port}/,ws-ping=0.2`]);
    try {
      await waitFor(() => echo.pings >= 3, 5000, 'three pings');
    } finally {
      await stop(child);
    }
  });

  it('a server that answers no ping ends the relay with one E line and status 1', async () => {
    const echo = await wsEcho({ autoPong: false });
    const child = startTsocat(['-', `WS:ws://127.0.0.1:${echo.port}/,ws-ping=0.2`]);
    try {
      const began = Date.now();
      expect(await exited(child, 5000)).toBe(1);
      // the first ping at 0.2 s, no pong by the second at 0.4 s
      expect(Date.now() - began).toBeGreaterThanOrEqual(350);
      expect(child.errors()).toMatch(/^\S+ \S+ tsocat\[\d+\] E read\(WS AF=2 127\.0\.0\.1:\d+\): WebSocket peer answered no ping within 0\.2 s \(ws-ping\)\n/m);
      expect(echo.pings).toBe(1);
    } finally {
      await stop(child);
    }
  });

  it('WS-LISTEN,ws-ping=0.2 pings its clients', async () => {
    const echoPort = await tcpEcho();
    const { port } = await listening((p) => `WS-LISTEN:${p},bind=127.0.0.1,ws-ping=0.2`, `TCP:127.0.0.1:${echoPort}`);
    const client = await connected(`ws://127.0.0.1:${port}/`);
    let pings = 0;
    client.ws.on('ping', () => pings++);
    await waitFor(() => pings >= 2, 5000, 'two pings');
    client.ws.close();
  });
});

describe('ws-auth, ws-header and ws-protocol', () => {
  it('WS-LISTEN,ws-auth=user:secret answers 401 to a client without credentials or with wrong ones (one E line each), and lets the right ones in', async () => {
    const echoPort = await tcpEcho();
    const { port, child } = await listening((p) => `WS-LISTEN:${p},bind=127.0.0.1,fork,ws-auth=user:secret`, `TCP:127.0.0.1:${echoPort}`);
    const url = `ws://127.0.0.1:${port}/`;
    expect(await wsClient(url)).toEqual({ status: 401 });
    expect(await wsClient(url, { headers: { Authorization: `Basic ${Buffer.from('user:wrong').toString('base64')}` } })).toEqual({ status: 401 });
    await waitFor(() => /wrong credentials/.test(child.errors()), 5000, 'the second refusal logged');
    expect(child.errors()).toMatch(/ E refusing WebSocket connection from AF=2 127\.0\.0\.1:\d+: no credentials \(ws-auth\)\n/);
    expect(child.errors()).toMatch(/ E refusing WebSocket connection from AF=2 127\.0\.0\.1:\d+: wrong credentials \(ws-auth\)\n/);
    // tsocat's own client with ws-auth gets through
    const r = await tsocat(['-', `WS:${url},ws-auth=user:secret`], { input: 'let me in\n' });
    expect(r.stdout.toString()).toBe('let me in\n');
    expect(r.status).toBe(0);
  });

  it('WS:url,ws-auth=user:secret sends basic credentials; ws-header adds headers, repeated as given', async () => {
    const echo = await wsEcho();
    const r = await tsocat(['-', `WS:ws://127.0.0.1:${echo.port}/path?q=1,ws-auth=user:secret,ws-header=X-One:1,ws-header=X-Two: two words`], { input: 'x' });
    expect(r.status).toBe(0);
    expect(echo.headers[0]?.authorization).toBe(`Basic ${Buffer.from('user:secret').toString('base64')}`);
    expect(echo.headers[0]?.['x-one']).toBe('1');
    expect(echo.headers[0]?.['x-two']).toBe('two words');
  });

  it('WS-LISTEN,ws-header=X-Served-By:tsocat puts the header in its 101 answer', async () => {
    const echoPort = await tcpEcho();
    const { port } = await listening((p) => `WS-LISTEN:${p},bind=127.0.0.1,ws-header=X-Served-By:tsocat`, `TCP:127.0.0.1:${echoPort}`);
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const header = await new Promise<string | string[] | undefined>((resolve, reject) => {
      ws.once('upgrade', (res) => resolve(res.headers['x-served-by']));
      ws.once('error', reject);
    });
    expect(header).toBe('tsocat');
    ws.close();
  });

  it('WS:url,ws-protocol=chat asks for the subprotocol; a server that chooses none is refused with one E line', async () => {
    const choosing = await wsEcho({ protocol: 'chat' });
    const ok = await tsocat(['-d', '-d', '-', `WS:ws://127.0.0.1:${choosing.port}/,ws-protocol=chat`], { input: 'x' });
    expect(ok.status).toBe(0);
    expect(choosing.headers[0]?.['sec-websocket-protocol']).toBe('chat');
    expect(ok.stderr).toMatch(/ N successfully connected to WebSocket server ws:\/\/127\.0\.0\.1:\d+\/ with subprotocol "chat"\n/);
    const deaf = await wsEcho();
    const r = await tsocat(['-', `WS:ws://127.0.0.1:${deaf.port}/,ws-protocol=chat`], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^\S+ \S+ tsocat\[\d+\] E WebSocket handshake with ws:\/\/127\.0\.0\.1:\d+\/: Server sent no subprotocol\n$/);
  });

  it('WS-LISTEN,ws-protocol=chat chooses it for a client that offers it and answers 400 to one that does not', async () => {
    const echoPort = await tcpEcho();
    const { port, child } = await listening((p) => `WS-LISTEN:${p},bind=127.0.0.1,fork,ws-protocol=chat`, `TCP:127.0.0.1:${echoPort}`);
    const offering = await connected(`ws://127.0.0.1:${port}/`, { protocols: ['other', 'chat'] });
    expect(offering.ws.protocol).toBe('chat');
    offering.ws.close();
    expect(await wsClient(`ws://127.0.0.1:${port}/`)).toEqual({ status: 400 });
    await waitFor(() => /not offered/.test(child.errors()), 5000, 'the refusal logged');
    expect(child.errors()).toMatch(/ E refusing WebSocket connection from AF=2 127\.0\.0\.1:\d+: subprotocol "chat" not offered \(ws-protocol\)\n/);
  });
});

describe('ws-deflate: per-message deflate when asked', () => {
  it('WS:url,ws-deflate offers it and a server that takes it compresses; without the option nothing is offered', async () => {
    const echo = await wsEcho({ deflate: true });
    const text = 'compress me '.repeat(10000);
    const r = await tsocat(['-', `WS:ws://127.0.0.1:${echo.port}/,ws-deflate`], { input: text });
    expect(r.stdout.toString()).toBe(text);
    expect(r.status).toBe(0);
    const plain = await tsocat(['-', `WS:ws://127.0.0.1:${echo.port}/`], { input: 'x' });
    expect(plain.status).toBe(0);
    expect(echo.extensions).toEqual(['permessage-deflate', '']);
    expect(echo.headers[1]?.['sec-websocket-extensions']).toBeUndefined();
  });

  it('WS-LISTEN,ws-deflate accepts a client\'s offer; without it the offer is declined', async () => {
    const echoPort = await tcpEcho();
    const { port } = await listening((p) => `WS-LISTEN:${p},bind=127.0.0.1,fork,ws-deflate`, `TCP:127.0.0.1:${echoPort}`);
    const client = await connected(`ws://127.0.0.1:${port}/`);
    expect(client.ws.extensions).toBe('permessage-deflate');
    client.ws.send('squeezed');
    expect((await messagesIn(client.messages, 1))[0]?.data.toString()).toBe('squeezed');
    client.ws.close();
    const { port: plainPort } = await listening((p) => `WS-LISTEN:${p},bind=127.0.0.1`, `TCP:127.0.0.1:${echoPort}`);
    const declined = await connected(`ws://127.0.0.1:${plainPort}/`);
    expect(declined.ws.extensions).toBe('');
    declined.ws.close();
  });
});

describe('WSS and WSS-LISTEN: the OPENSSL options apply', () => {
  it('WSS-LISTEN with verify=1,cafile= lets in a WSS client with a certificate the CA signed, and refuses one without', async () => {
    const echoPort = await tcpEcho();
    const c = certs();
    const { port, child } = await listening((p) => `WSS-LISTEN:${p},bind=127.0.0.1,fork,cert=${c.server},key=${c.serverKey},cafile=${c.ca},verify=1`, `TCP:127.0.0.1:${echoPort}`);
    const url = `wss://localhost:${port}/`;
    const ok = await tsocat(['-', `WSS:${url},cafile=${c.ca},cert=${c.client},key=${c.clientKey}`], { input: 'over TLS\n' });
    expect(ok.stdout.toString()).toBe('over TLS\n');
    expect(ok.status).toBe(0);
    const refused = await wsClient(url, { ca: readFileSync(c.ca) }).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
    await waitFor(() => / E /.test(child.errors()), 5000, 'the refusal logged');
    expect(child.errors()).toMatch(/ E (no peer certificate|SSL_accept\(\): .*)\n/);
  });

  it('WSS:url checks the server certificate: a CA that did not sign it refuses the connection', async () => {
    const c = certs();
    const { port } = await listening((p) => `WSS-LISTEN:${p},bind=127.0.0.1,cert=${c.intruder},verify=0`, 'PIPE');
    const r = await tsocat(['-', `WSS:wss://localhost:${port}/,cafile=${c.ca}`], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^\S+ \S+ tsocat\[\d+\] E self-signed certificate\n$/);
  });
});
