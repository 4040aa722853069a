/**
 * The broker (docs/broker.md): `TCP-LISTEN:<port>,fork,broker` makes one
 * conversation of every peer and address 2. Real sockets, real client
 * processes; every wait is on an event (a log line, the bytes expected).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { backgroundStarter, exited, freePort, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const start = backgroundStarter();
const sockets: Socket[] = [];
const servers: Server[] = [];
const children: ChildProcess[] = [];
const dirs: Array<() => void> = [];
const udps: UdpSocket[] = [];
afterEach(async () => {
  for (const u of udps.splice(0)) u.close();
  for (const c of children.splice(0)) {
    // a stopped child never ends on SIGTERM until continued
    c.kill('SIGCONT');
    c.kill('SIGKILL');
  }
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) d();
});

interface Client {
  socket: Socket;
  received: () => string;
  /** Lines received so far, counted as they come (cheap to poll). */
  lineCount: () => number;
}

function client(target: number | string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = typeof target === 'number' ? connect(target, '127.0.0.1') : connect(target);
    sockets.push(socket);
    let text = '';
    let count = 0;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      for (let i = d.indexOf('\n'); i >= 0; i = d.indexOf('\n', i + 1)) count++;
    });
    socket.once('error', reject);
    socket.once('connect', () => resolve({ socket, received: () => text, lineCount: () => count }));
  });
}

const joined = (log: string) => log.split('\n').filter((l) => / joined as user\d+ /.test(l)).length;

/** A broker on a fresh port with -d -d (its join lines are what the tests wait on); address 2 defaults to /dev/null. */
async function broker(options: string, address2 = 'OPEN:/dev/null') {
  const port = await freePort();
  const p = start(['-d', '-d', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,broker${options}`, address2]);
  await waitForPort(port);
  // address 2 joins first, as user0
  await waitFor(() => joined(p.errors()) >= 1, 5000, () => `address 2 joining: ${p.errors()}`);
  return { port, p };
}

/** Connects n clients and waits until the broker has taken every one in. */
async function clients(port: number, n: number, log: () => string): Promise<Client[]> {
  const before = joined(log());
  const all = await Promise.all(Array.from({ length: n }, () => client(port)));
  await waitFor(() => joined(log()) >= before + n, 5000, () => `${n} joins: ${log()}`);
  return all;
}

const lines = (who: number, count: number) => Array.from({ length: count }, (_, j) => `client ${who} line ${j}\n`).join('');

/** Every other client's lines, each sender's in order, none of its own; a line's sender and number say where it came from. */
function expectAllButOwn(all: Client[], count: number, parse: (line: string) => [number, number]) {
  all.forEach((c, me) => {
    const got = c.received().split('\n').filter(Boolean);
    const bySender = new Map<number, number[]>();
    for (const line of got) {
      const [who, n] = parse(line);
      const numbers = bySender.get(who) ?? [];
      numbers.push(n);
      bySender.set(who, numbers);
    }
    expect(bySender.has(me)).toBe(false);
    expect(bySender.size).toBe(all.length - 1);
    for (const numbers of bySender.values()) expect(numbers).toEqual(Array.from({ length: count }, (_, j) => j));
  });
}

describe('TCP-LISTEN,fork,broker', () => {
  it('50 clients, 100 numbered lines each: every client gets every other client’s lines, none of its own', async () => {
    const { port, p } = await broker('');
    const all = await clients(port, 50, p.errors);
    // each client's lines in one write, so one read: the broker passes reads on whole
    for (const [i, c] of all.entries()) c.socket.write(lines(i, 100));
    await waitFor(() => all.every((c) => c.lineCount() >= 49 * 100), 8000, 'every client receiving the others’ lines');
    expectAllButOwn(all, 100, (line) => {
      const m = line.match(/^client (\d+) line (\d+)$/);
      if (!m) throw new Error(`line out of shape: ${JSON.stringify(line)}`);
      return [Number(m[1]), Number(m[2])];
    });
  });

  it('chat: each line prefixed with its sender, 50 clients; lines split across writes come out whole', async () => {
    const { port, p } = await broker(',chat');
    const all = await clients(port, 50, p.errors);
    const names = new Map<string, number>();
    for (const line of p.errors().split('\n')) {
      const m = line.match(/127\.0\.0\.1:(\d+) joined as (user\d+)/);
      if (m) names.set(m[2] as string, all.findIndex((c) => c.socket.localPort === Number(m[1])));
    }
    // cut each client's text mid-line: the broker holds a part line until its newline
    for (const [i, c] of all.entries()) {
      const text = lines(i, 100);
      c.socket.write(text.slice(0, 17));
      c.socket.write(text.slice(17));
    }
    await waitFor(() => all.every((c) => c.lineCount() >= 49 * 100), 8000, 'every client receiving 4900 lines');
    expectAllButOwn(all, 100, (line) => {
      const m = line.match(/^<(user\d+)> client (\d+) line (\d+)$/);
      if (!m) throw new Error(`line out of shape: ${JSON.stringify(line)}`);
      // the prefix names the sender the line says it is from
      if (names.get(m[1] as string) !== Number(m[2])) throw new Error(`${m[1]} is client ${names.get(m[1] as string)}, not the sender of ${JSON.stringify(line)}`);
      return [Number(m[2]), Number(m[3])];
    });
  });

  it('address 2 is a member: it gets every client’s lines and what it sends reaches every client (user0 in chat)', async () => {
    const server = createServer();
    servers.push(server);
    let fromBroker = '';
    let upstream: Socket | undefined;
    server.on('connection', (s) => {
      upstream = s;
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        fromBroker += d;
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port: serverPort } = server.address() as { port: number };
    const { port, p } = await broker(',chat', `TCP:127.0.0.1:${serverPort}`);
    const [a, b] = await clients(port, 2, p.errors);
    a?.socket.write('from a\n');
    await waitFor(() => fromBroker === '<user1> from a\n', 5000, () => `address 2 receiving: ${JSON.stringify(fromBroker)}`);
    upstream?.write('from address 2\n');
    await waitFor(() => b?.received() === '<user1> from a\n<user0> from address 2\n', 5000, () => `b: ${JSON.stringify(b?.received())}`);
    await waitFor(() => a?.received() === '<user0> from address 2\n', 5000, () => `a: ${JSON.stringify(a?.received())}`);
  });

  it('a client leaving never ends the broker; later clients still talk', async () => {
    const { port, p } = await broker('');
    const [a, b] = await clients(port, 2, p.errors);
    a?.socket.end();
    b?.socket.destroy();
    await waitFor(() => (p.errors().match(/ left: /g) ?? []).length === 2, 5000, () => `both leaving: ${p.errors()}`);
    const [c, d] = await clients(port, 2, p.errors);
    c?.socket.write('still here\n');
    await waitFor(() => d?.received() === 'still here\n', 5000, () => `d: ${JSON.stringify(d?.received())}`);
    expect(p.exitCode).toBeNull();
    // only a signal ends it, and then every member is closed
    const closed = new Promise((r) => d?.socket.once('close', r));
    p.kill('SIGTERM');
    await closed;
    await exited(p);
    expect(p.errors()).toMatch(/W exiting on signal 15\n$/);
  });

  it('max-children bounds the clients at once: one more waits in the backlog until a member leaves', async () => {
    const { port, p } = await broker(',max-children=2');
    const [a, b] = await clients(port, 2, p.errors);
    const c = await client(port);
    // a round trip through the broker after c connected: it has had its turn to accept c
    b?.socket.write('ping\n');
    await waitFor(() => a?.received() === 'ping\n', 5000, 'the ping');
    expect(joined(p.errors())).toBe(3);
    a?.socket.destroy();
    await waitFor(() => joined(p.errors()) === 4, 5000, () => `c joining once a left: ${p.errors()}`);
    c.socket.write('from c\n');
    await waitFor(() => b?.received() === 'from c\n', 5000, () => `b: ${JSON.stringify(b?.received())}`);
  });

  it('UNIX-LISTEN,fork,broker relays among its peers the same way', async () => {
    const { dir, cleanup } = tempDir();
    dirs.push(cleanup);
    const path = join(dir, 'broker.sock');
    const p = start(['-d', '-d', `UNIX-LISTEN:${path},fork,broker`, 'OPEN:/dev/null']);
    await waitFor(() => joined(p.errors()) >= 1, 5000, () => `address 2 joining: ${p.errors()}`);
    const all = await Promise.all([client(path), client(path), client(path)]);
    await waitFor(() => joined(p.errors()) >= 4, 5000, () => `3 joins: ${p.errors()}`);
    all[0]?.socket.write('one\n');
    await waitFor(() => all[1]?.received() === 'one\n' && all[2]?.received() === 'one\n', 5000, 'the others receiving');
    expect(all[0]?.received()).toBe('');
  });

  it('UDP-LISTEN,fork,broker: a datagram from one peer reaches every other peer as one datagram', async () => {
    const port = await freePort();
    const p = start(['-d', '-d', `UDP-LISTEN:${port},bind=127.0.0.1,fork,broker`, 'OPEN:/dev/null']);
    await waitFor(() => joined(p.errors()) >= 1, 5000, () => `address 2 joining: ${p.errors()}`);
    const peers = [0, 1, 2].map(() => {
      const u = createSocket('udp4');
      udps.push(u);
      const got: string[] = [];
      u.on('message', (m) => got.push(m.toString()));
      return { u, got };
    });
    // a UDP peer joins with its first datagram, which goes to those already there
    for (const [i, peer] of peers.entries()) {
      peer.u.send(`join ${i}`, port, '127.0.0.1');
      await waitFor(() => joined(p.errors()) >= i + 2, 5000, () => `peer ${i} joining: ${p.errors()}`);
    }
    peers[0]?.u.send('one datagram', port, '127.0.0.1');
    await waitFor(() => peers[1]?.got.at(-1) === 'one datagram' && peers[2]?.got.at(-1) === 'one datagram', 5000, () => JSON.stringify(peers.map((q) => q.got)));
    expect(peers[1]?.got).toEqual(['join 2', 'one datagram']);
    expect(peers[0]?.got).toEqual(['join 1', 'join 2']);
  });

  it('WS-LISTEN,fork,broker,chat: one message from a WebSocket client reaches the others, prefixed', async () => {
    const port = await freePort();
    const p = start(['-d', '-d', `WS-LISTEN:${port},bind=127.0.0.1,fork,broker,chat`, 'OPEN:/dev/null']);
    await waitFor(() => joined(p.errors()) >= 1, 5000, () => `address 2 joining: ${p.errors()}`);
    const open = () =>
      new Promise<{ ws: WebSocket; got: string[] }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
        const got: string[] = [];
        ws.on('message', (d) => got.push(String(d)));
        ws.once('error', reject);
        ws.once('open', () => resolve({ ws, got }));
      });
    const all = await Promise.all([open(), open(), open()]);
    try {
      await waitFor(() => joined(p.errors()) >= 4, 5000, () => `3 joins: ${p.errors()}`);
      all[0]?.ws.send('hello\n');
      await waitFor(() => all[1]?.got.join('') === '<user1> hello\n' && all[2]?.got.join('') === '<user1> hello\n', 5000, () => `the others: ${JSON.stringify(all.map((c) => c.got))}`);
      expect(all[0]?.got).toEqual([]);
    } finally {
      for (const c of all) c.ws.terminate();
    }
  });

  it('broker on address 2: the listener is address 2 and address 1 (here a TCP service) is user0', async () => {
    const server = createServer();
    servers.push(server);
    const upstream = new Promise<Socket>((r) => server.once('connection', r));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port: serverPort } = server.address() as { port: number };
    const port = await freePort();
    const p = start(['-d', '-d', `TCP:127.0.0.1:${serverPort}`, `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,broker,chat`]);
    const up = await upstream;
    await waitFor(() => joined(p.errors()) >= 1, 5000, () => `address 1 joining: ${p.errors()}`);
    const [a] = await clients(port, 1, p.errors);
    up.write('from address 1\n');
    await waitFor(() => a?.received() === '<user0> from address 1\n', 5000, () => `a: ${JSON.stringify(a?.received())}`);
  });
});

/**
 * A client process that never reads while stopped: python3 with a small
 * receive buffer, printing `connected`, then `mark <bytes>` whenever MARK
 * arrives and `closed <bytes>` at the end of its connection.
 */
function slowReader(port: number): { child: ChildProcess; out: () => string } {
  const program = `
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(('127.0.0.1', ${port}))
print('connected', s.getsockname()[1], flush=True)
n = 0
tail = b''
while True:
    try:
        d = s.recv(65536)
    except ConnectionResetError:
        break
    if not d:
        break
    n += len(d)
    tail = (tail + d)[-64:]
    if b'MARK' in tail:
        print('mark', n, flush=True)
        tail = b''
print('closed', n, flush=True)
`;
  const child = spawn(PYTHON, ['-c', program], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return { child, out: () => out };
}

describe('a slow member never stalls the others', () => {
  // 392 kB to the stopped reader, past broker-buffer plus the kernel's buffers (sndbuf fixes the broker's side), short of the default bound (1 MiB)
  const BULK = 2000;
  const bulk = (who: string) => Array.from({ length: BULK }, (_, j) => `${who} ${String(j).padStart(6, '0')} ${'x'.repeat(88)}\n`).join('');

  /** Stops a reading client process, then has two fast clients swap 200 kB each; they must get it all while it is stopped. */
  async function withStoppedReader(policy: string) {
    const { port, p } = await broker(`,sndbuf=8192,broker-buffer=262144${policy}`);
    const reader = slowReader(port);
    await waitFor(() => reader.out().startsWith('connected') && joined(p.errors()) >= 2, 5000, () => `reader joining: ${reader.out()} ${p.errors()}`);
    reader.child.kill('SIGSTOP');
    const [a, b] = await clients(port, 2, p.errors);
    const fromA = bulk('a');
    const fromB = bulk('b');
    a?.socket.write(fromA);
    b?.socket.write(fromB);
    await waitFor(() => a?.received() === fromB && b?.received() === fromA, 8000, () => `the fast clients' exchange (a has ${a?.received().length}, b ${b?.received().length} of ${fromA.length})`);
    return { p, reader, a: a as Client, total: fromA.length + fromB.length };
  }

  it('broker-buffer with the default broker-slow=disconnect: the stopped client is closed once its queue is full', async () => {
    const { p, reader, total } = await withStoppedReader('');
    await waitFor(() => /left: too slow: \d+ bytes queued, broker-buffer=262144/.test(p.errors()), 5000, () => `the slow client closed: ${p.errors()}`);
    reader.child.kill('SIGCONT');
    await waitFor(() => /closed \d+/.test(reader.out()), 5000, () => `the reader's end: ${reader.out()}`);
    const got = Number(reader.out().match(/closed (\d+)/)?.[1]);
    expect(got).toBeLessThan(total);
  });

  it('broker-slow=drop: the stopped client misses what does not fit, stays connected, and gets what is sent once it reads again', async () => {
    const { p, reader, a, total } = await withStoppedReader(',broker-slow=drop');
    expect(p.errors()).toMatch(/W broker: TCP AF=2 127\.0\.0\.1:\d+ \(user1\) is too slow; dropping what does not fit in broker-buffer=262144/);
    reader.child.kill('SIGCONT');
    // what was queued drains; a line sent from now on reaches it (sent until it does: the drain takes its time)
    const sendMark = setInterval(() => a.socket.write('MARK\n'), 200);
    try {
      await waitFor(() => /mark \d+/.test(reader.out()), 5000, () => `MARK reaching the reader: ${reader.out()}`);
    } finally {
      clearInterval(sendMark);
    }
    expect(Number(reader.out().match(/mark (\d+)/)?.[1])).toBeLessThan(total);
    expect(p.errors()).not.toMatch(/left: too slow/);
  });
});

describe('bad broker options', () => {
  const refused = async (address: string, message: string) => {
    const r = await tsocat([address, 'OPEN:/dev/null']);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(` E ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    expect(r.status).toBe(1);
  };
  it('refuses a bad broker-slow, a bad broker-buffer, and the options out of place', async () => {
    const port = await freePort();
    await refused(`TCP-LISTEN:${port},fork,broker,broker-slow=maybe`, 'broker-slow=maybe: must be disconnect or drop');
    await refused(`TCP-LISTEN:${port},fork,broker,broker-buffer=lots`, 'parseopts(): missing numerical value of option "broker-buffer=lots"');
    await refused(`TCP-LISTEN:${port},fork,broker,broker-buffer=-1`, 'parseopts(): negative value in option "broker-buffer=-1"');
    await refused(`TCP-LISTEN:${port},broker`, 'option broker not allowed without option fork');
    await refused(`TCP-LISTEN:${port},fork,chat`, 'option chat not allowed without option broker');
    await refused(`TCP-LISTEN:${port},fork,broker-slow=drop`, 'option broker-slow not allowed without option broker');
  });
  it('refuses what a broker cannot honour: per-session flags and APPL options, on either address', async () => {
    const port = await freePort();
    for (const [args, message] of [
      [['-T', '5'], 'option broker not allowed with -T'],
      [['-x'], 'option broker not allowed with -x'],
      [['-b', '4096'], 'option broker not allowed with -b'],
      [['--statistics'], 'option broker not allowed with --statistics'],
    ] as const) {
      const r = await tsocat([...args, `TCP-LISTEN:${port},fork,broker`, 'OPEN:/dev/null']);
      expect(r.stderr).toMatch(new RegExp(` E ${message}\n$`));
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.status).toBe(1);
    }
    await refused(`TCP-LISTEN:${port},fork,broker,crnl`, 'option broker not allowed with option crnl');
    const r = await tsocat([`TCP-LISTEN:${port},fork,broker`, 'OPEN:/dev/null,ignoreeof']);
    expect(r.stderr).toMatch(/ E option broker not allowed with option ignoreeof\n$/);
    expect(r.status).toBe(1);
  });

  it('refuses broker with -u, and on an address that does not listen', async () => {
    const port = await freePort();
    const r = await tsocat(['-u', `TCP-LISTEN:${port},fork,broker`, 'OPEN:/dev/null']);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/ E option broker not allowed with -u or -U: a broker relays every way\n$/);
    expect(r.status).toBe(1);
    const c = await tsocat([`TCP:127.0.0.1:${port},fork,broker`, 'OPEN:/dev/null']);
    expect(c.stderr.trim().split('\n')).toHaveLength(1);
    expect(c.stderr).toMatch(/ E .*broker/);
    expect(c.status).toBe(1);
  });
});
