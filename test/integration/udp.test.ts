/**
 * The UDP and UDP-Lite addresses through the real command: real datagram
 * sockets on loopback, real programs for EXEC/SYSTEM, packets counted and
 * measured as they arrive. Datagram boundaries hold end to end.
 */
import { createSocket, type Socket as DgramSocket, type RemoteInfo } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, requires, run, SOCAT, socat18OrSkip, TSOCAT, tcpExchange, tsocat, udpBound, udpBoundBy, waitFor as waitForWithin, waitForPort } from '../helpers.js';

/** Every wait is bounded, generously: a machine shared with other work (CI) can take seconds to start a relay. */
const waitFor = (cond: () => boolean, timeoutMs = 20000, what?: string) => waitForWithin(cond, timeoutMs, what);

const start = backgroundStarter();
const toClose: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of toClose.splice(0).reverse()) await f();
});

/** Bounded generously: a loaded machine can take seconds to start a relay. */
const waitForUdp = (port: number) => waitFor(() => udpBound(port), 20000);

/**
 * Starts a relay that binds a free UDP port and waits until that relay holds it. The port is free
 * when picked, but another test's socket can take it as its ephemeral port before the relay binds
 * it (the relay then fails with "Address already in use"): then once more on another port, at most 3 tries.
 */
async function relayOnFreePort(startOn: (port: number) => ReturnType<typeof start>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await udpFreePort();
    const p = startOn(port);
    await waitFor(() => udpBoundBy(p.pid, port) || p.exitCode !== null, 20000, `the relay bound to UDP port ${port}`);
    if (udpBoundBy(p.pid, port)) return port;
    if (attempt === 3 || !p.errors().includes('Address already in use')) throw new Error(`the relay ended before binding UDP port ${port}: ${p.errors().trim()}`);
  }
}

interface Peer {
  socket: DgramSocket;
  port: number;
  received: Array<{ data: Buffer; from: RemoteInfo }>;
  send(data: string | Buffer, port: number, address?: string): Promise<void>;
}

/** A UDP test peer bound on loopback that records every packet it gets. */
function udpPeer(address = '127.0.0.1', port = 0, type: 'udp4' | 'udp6' = 'udp4'): Promise<Peer> {
  const socket = createSocket(type);
  const received: Peer['received'] = [];
  socket.on('message', (data, from) => received.push({ data, from }));
  toClose.push(() => new Promise<void>((r) => socket.close(() => r())));
  return new Promise((resolve) =>
    socket.bind(port, address, () =>
      resolve({
        socket,
        port: socket.address().port,
        received,
        send: (data, to, toAddress = address) => new Promise<void>((r, j) => socket.send(data, to, toAddress, (e) => (e ? j(e) : r()))),
      }),
    ),
  );
}

/** A port no one uses for TCP nor, at this moment, for UDP (the free-port source asks TCP only); at most 20 tries. */
async function udpFreePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    if (!udpBound(port)) return port;
  }
  throw new Error('no port free for both TCP and UDP in 20 tries');
}

describe('UDP client and server addresses', () => {
  it('TCP-LISTEN,fork to UDP: a TCP<->UDP repeater; each client gets the UDP server\'s answer to its own line', async () => {
    const server = await udpPeer();
    // the answer, then an empty packet: end of file for the relay's connected UDP socket, so the TCP client sees the end
    server.socket.on('message', (data, from) => {
      if (data.length === 0) return;
      server.socket.send(Buffer.from(data.toString().toUpperCase()), from.port, from.address);
      server.socket.send(Buffer.alloc(0), from.port, from.address);
    });
    const tcpPort = await freePort();
    start([`TCP-LISTEN:${tcpPort},fork,reuseaddr`, `UDP:127.0.0.1:${server.port}`]);
    await waitForPort(tcpPort);
    const answers = await Promise.all(['alpha\n', 'bravo\n', 'charlie\n'].map((line) => tcpExchange(tcpPort, line, { halfClose: false, timeoutMs: 20000 })));
    expect(answers.map((a) => a.toString())).toEqual(['ALPHA\n', 'BRAVO\n', 'CHARLIE\n']);
    // three clients, three UDP sockets: the server saw three source ports
    expect(new Set(server.received.filter((r) => r.data.length > 0).map((r) => r.from.port)).size).toBe(3);
  });

  it('UDP:host:port sends each write as one packet and ends with an empty packet, as socat 1.8 does (shut-null default)', async () => {
    const server = await udpPeer();
    const r = await tsocat(['-', `UDP:127.0.0.1:${server.port}`], { input: 'one packet' });
    expect(r.status).toBe(0);
    await waitFor(() => server.received.length >= 2);
    expect(server.received.map((p) => p.data.toString())).toEqual(['one packet', '']);
  });

  it('SENDTO and DATAGRAM to port 0 open (nothing is sent yet, as socat); the first packet fails in one E line, status 1', async () => {
    const quiet = await tsocat(['-u', '-T', '0.001', '/dev/null', 'UDPLITE4-SENDTO:127.0.0.1:0']);
    expect([quiet.status, quiet.stderr]).toEqual([0, '']);
    for (const keyword of ['UDP4-SENDTO', 'UDP6-DATAGRAM']) {
      const target = keyword.startsWith('UDP6') ? '[::1]:0' : '127.0.0.1:0';
      const r = await tsocat(['-u', '-', `${keyword}:${target}`], { input: 'x\n' });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^\\S+ \\S+ tsocat\\[\\d+\\] E write\\(${keyword.replace('4', '').replace('6', '')} AF=${keyword.startsWith('UDP6') ? '10 \\[::1\\]' : '2 127\\.0\\.0\\.1'}:0\\): Invalid argument\\n$`));
    }
  });

  it('ipv6-join-group=[ff02::2]:lo joins the group on lo while the address is open (the kernel\'s own table, /proc/net/igmp6); a bad group is refused', async () => {
    // where a packet to the group is routed depends on the machine (socat's test.sh UDP6MULTICAST_UNIDIR sends one); the membership is the option's own effect
    const joined = () => readFileSync('/proc/net/igmp6', 'utf8').split('\n').some((l) => /^\d+\s+lo\s+ff020000000000000000000000000002\s/.test(l));
    expect(joined()).toBe(false);
    const port = await freePort();
    const p = start(['-u', `UDP6-RECV:${port},ipv6-join-group=[ff02::2]:lo`, '-']);
    await waitForWithin(joined, 5000, 'the membership of ff02::2 on lo');
    p.kill('SIGTERM');
    await waitForWithin(() => !joined(), 5000, 'the membership gone with the socket');
    const bad = await tsocat(['-u', `UDP6-RECV:${port},ipv6-join-group=1.2.3.4:lo`, '-']);
    expect([bad.status, bad.stderr.replace(/^\S+ \S+ tsocat\[\d+\] /, '')]).toEqual([1, 'E option "ipv6-join-group": expected [<IPv6 multicast address>]:<interface>, got "1.2.3.4:lo"\n']);
  });

  it('ipv6-join-source-group=[ff02::1:4242]:lo:[::1] joins the group on lo for that one source (/proc/net/mcfilter6) while the address is open; a value without brackets is refused', async () => {
    // Idx Device Multicast-Address Source-Address INC EXC: the source filter is the option's own effect
    const filtered = () =>
      readFileSync('/proc/net/mcfilter6', 'utf8')
        .split('\n')
        .some((l) => /^\s*\d+\s+lo\s+ff020000000000000000000000014242\s+00000000000000000000000000000001\s+1\s+0/.test(l));
    expect(filtered()).toBe(false);
    const port = await freePort();
    const p = start(['-u', `UDP6-RECV:${port},ipv6-join-source-group=[ff02::1:4242]:lo:[::1]`, '-']);
    await waitForWithin(filtered, 5000, 'the source filter of ff02::1:4242 on lo');
    p.kill('SIGTERM');
    await waitForWithin(() => !filtered(), 5000, 'the filter gone with the socket');
    const bad = await tsocat(['-u', `UDP6-RECV:${port},join-source-group=ff02::1:4242:lo:::1`, '-']);
    expect([bad.status, bad.stderr.replace(/^\S+ \S+ tsocat\[\d+\] /, '')]).toEqual([
      1,
      'E option "ipv6-join-source-group": expected [<IPv6 multicast address>]:<interface>:[<IPv6 source address>], got "ff02::1:4242:lo:::1"\n',
    ]);
  });

  it('lowport binds a port from 640 to 1023, which -d -d -d -d shows in a D bind() line as socat\'s (test.sh UDP_LOWPORT reads the port from it)', async () => {
    const r = await tsocat(['-d', '-d', '-d', '-d', '/dev/null', 'UDP4-SENDTO:127.0.0.1:9,lowport']);
    expect(r.status).toBe(0);
    const m = r.stderr.match(/ D bind\(\d+, AF=2 0\.0\.0\.0:(\d+), 16\) -> 0\n/);
    expect(m, r.stderr).not.toBeNull();
    const port = Number(m?.[1]);
    expect(port).toBeGreaterThanOrEqual(640);
    expect(port).toBeLessThanOrEqual(1023);
  });

  it('sourceport and bind choose the client\'s local address and port', async () => {
    const server = await udpPeer('127.0.0.1');
    const sp = await udpFreePort();
    await tsocat(['-', `UDP:127.0.0.1:${server.port},bind=127.0.0.2,sourceport=${sp}`], { input: 'x' });
    await waitFor(() => server.received.length >= 1);
    expect(server.received[0]?.from).toMatchObject({ address: '127.0.0.2', port: sp });
  });

  it('UDP-LISTEN without fork: the first sender is the peer; another sender\'s packets are not relayed; its empty packet is end of file', async () => {
    const port = await udpFreePort();
    const p = start(['-d', '-d', `UDP-LISTEN:${port}`, '-']);
    await waitForUdp(port);
    const first = await udpPeer();
    const other = await udpPeer();
    await first.send('first\n', port);
    await waitFor(() => p.output().includes('first\n'));
    await other.send('intruder\n', port);
    await first.send('second\n', port);
    await waitFor(() => p.output().includes('second\n'));
    p.stdin?.write('reply\n');
    await waitFor(() => first.received.length >= 1);
    expect(first.received[0]?.data.toString()).toBe('reply\n');
    await first.send('', port);
    await waitFor(() => p.exitCode !== null);
    expect(p.exitCode).toBe(0);
    expect(p.output()).toBe('first\nsecond\n');
    expect(other.received).toEqual([]);
    expect(p.errors()).toMatch(/N accepting UDP connection from AF=2 127\.0\.0\.1:\d+/);
  });

  it('UDP-LISTEN,fork answers 20 peers at once, each from its own session (20 programs, 20 pids)', async () => {
    const port = await udpFreePort();
    start([`UDP-LISTEN:${port},fork`, 'SYSTEM:read line; echo "$$ $line $SOCAT_PEERPORT"']);
    await waitForUdp(port);
    const peers = await Promise.all(Array.from({ length: 20 }, () => udpPeer()));
    await Promise.all(peers.map((peer, i) => peer.send(`peer${i}\n`, port)));
    await waitFor(() => peers.every((peer) => peer.received.length >= 1), 50000, 'an answer for each of the 20 peers');
    const replies = peers.map((peer) => peer.received[0]?.data.toString().trim().split(' ') ?? []);
    expect(replies.map(([, line, peerPort]) => [line, Number(peerPort)])).toEqual(peers.map((peer, i) => [`peer${i}`, peer.port]));
    expect(new Set(replies.map(([pid]) => pid)).size).toBe(20);
  }, 60000);

  it('UDP-RECVFROM,fork answers 20 peers at once, a session per packet (20 pids)', async () => {
    const port = await udpFreePort();
    // -t 5: a session's input ends with its one packet, and the default 0.5 s for the program's answer
    // is shorter than 20 shells starting at once take on a loaded machine (socat's child would lose it too)
    start(['-t', '5', `UDP-RECVFROM:${port},fork`, 'SYSTEM:read line; echo "$$ $line"']);
    await waitForUdp(port);
    const peers = await Promise.all(Array.from({ length: 20 }, () => udpPeer()));
    await Promise.all(peers.map((peer, i) => peer.send(`peer${i}\n`, port)));
    await waitFor(() => peers.every((peer) => peer.received.length >= 1), 50000, 'an answer for each of the 20 peers');
    const replies = peers.map((peer) => peer.received[0]?.data.toString().trim().split(' ') ?? []);
    expect(replies.map(([, line]) => line)).toEqual(peers.map((_, i) => `peer${i}`));
    expect(new Set(replies.map(([pid]) => pid)).size).toBe(20);
  }, 60000);

  it('UDP-RECVFROM without fork reads one packet, answers its sender, and reads no more', async () => {
    const port = await udpFreePort();
    const p = start(['-t', '5', `UDP-RECVFROM:${port}`, '-']);
    await waitForUdp(port);
    const peer = await udpPeer();
    await peer.send('only this\n', port);
    await peer.send('not this\n', port);
    await waitFor(() => p.output().includes('only this'));
    p.stdin?.end('answer\n');
    await waitFor(() => peer.received.length >= 1);
    expect(peer.received[0]?.data.toString()).toBe('answer\n');
    await waitFor(() => p.exitCode !== null);
    expect(p.output()).toBe('only this\n');
  });

  it('UDP-SENDTO takes packets only from its peer\'s address and port', async () => {
    const server = await udpPeer();
    const stranger = await udpPeer();
    const p = start(['-d', '-d', '-d', '-', `UDP-SENDTO:127.0.0.1:${server.port}`]);
    p.stdin?.write('hello\n');
    await waitFor(() => server.received.length >= 1);
    const clientPort = server.received[0]?.from.port as number;
    await stranger.send('stranger\n', clientPort);
    await server.send('from server\n', clientPort);
    await waitFor(() => p.output().includes('from server'));
    expect(p.output()).toBe('from server\n');
    expect(p.errors()).toContain('wrong peer address, ignoring packet');
  });

  it('UDP-RECV ignores empty packets; with null-eof an empty packet ends the input', async () => {
    const port = await udpFreePort();
    const p = start(['-u', `UDP-RECV:${port},null-eof`, '-']);
    await waitForUdp(port);
    const peer = await udpPeer();
    await peer.send('data\n', port);
    await waitFor(() => p.output() === 'data\n');
    await peer.send('', port);
    await waitFor(() => p.exitCode !== null);
    expect(p.exitCode).toBe(0);

    const port2 = await udpFreePort();
    const q = start(['-u', `UDP-RECV:${port2}`, '-']);
    await waitForUdp(port2);
    await peer.send('', port2);
    await peer.send('after empty\n', port2);
    await waitFor(() => q.output() === 'after empty\n');
    expect(q.exitCode).toBe(null);
  });

  it('UDP-DATAGRAM with range takes packets from senders in the range only, with socat\'s warning for the others', async () => {
    const peer = await udpPeer('127.0.0.1');
    const p = start(['-', `UDP-DATAGRAM:127.0.0.1:${peer.port},range=127.0.0.2/32`]);
    p.stdin?.write('hi\n');
    await waitFor(() => peer.received.length >= 1);
    const tsocatPort = peer.received[0]?.from.port as number;
    const allowed = await udpPeer('127.0.0.2');
    await peer.send('refused\n', tsocatPort);
    await allowed.send('allowed\n', tsocatPort, '127.0.0.1');
    await waitFor(() => p.output().includes('allowed'));
    expect(p.output()).toBe('allowed\n');
    expect(p.errors()).toMatch(/W refusing connection from AF=2 127\.0\.0\.1:\d+ due to range option/);
  });

  it('UDP-DATAGRAM with sourceport takes replies only from the peer\'s port', async () => {
    const peer = await udpPeer();
    const other = await udpPeer();
    const p = start(['-', `UDP-DATAGRAM:127.0.0.1:${peer.port},sourceport=1`]);
    p.stdin?.write('hi\n');
    await waitFor(() => peer.received.length >= 1);
    const tsocatPort = peer.received[0]?.from.port as number;
    await other.send('wrong port\n', tsocatPort);
    await peer.send('right port\n', tsocatPort);
    await waitFor(() => p.output().includes('right port'));
    expect(p.output()).toBe('right port\n');
    expect(p.errors()).toContain(`W refusing connection from AF=2 127.0.0.1:${other.port} due to wrong sourceport`);
    // as socat 1.8: on UDP-DATAGRAM sp= chooses which replies pass; the socket is not bound to it
    expect(tsocatPort).not.toBe(1);
  });

  it.for([['tsocat'], ['socat 1.8']])('the man page broadcast client (UDP4-DATAGRAM:…,sp=…,broadcast,range=…) on loopback, through %s: only the reply from the asked port is printed (Debian 1.7.4.4 refuses both)', async ([tool], ctx) => {
    const command = tool === 'tsocat' ? [process.execPath, TSOCAT] : [socat18OrSkip(ctx, "Debian's socat 1.7.4.4 refuses every reply on UDP-DATAGRAM with sp")];
    const responder = await udpPeer('0.0.0.0');
    const other = await udpPeer();
    // each request gets a reply from another port first, then from the port it was sent to
    responder.socket.on('message', (_data, from) => {
      void other.send('from another port\n', from.port).then(() => responder.send('from the port asked\n', from.port, from.address));
    });
    const address = `UDP4-DATAGRAM:127.255.255.255:${responder.port},sp=${responder.port},broadcast,range=127.0.0.0/8`;
    const r = await run(command[0] as string, [...command.slice(1), '-', address], { input: 'ask\n', endInputAfter: 'from the port asked' });
    expect(r.stdout.toString()).toBe('from the port asked\n');
    expect(r.stderr).toMatch(new RegExp(` W refusing connection from AF=2 127\\.0\\.0\\.1:${other.port} due to wrong sourceport\n`));
    expect(r.status).toBe(0);
  });
});

/** Settles when the peer has received `count` packets (on the packet's own event, not by polling); rejects after 5 s. */
function packetCount(peer: Peer, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (peer.received.length < count) return;
      clearTimeout(timer);
      peer.socket.off('message', check);
      resolve();
    };
    const timer = setTimeout(() => {
      peer.socket.off('message', check);
      reject(new Error(`${peer.received.length} of ${count} packets arrived in 15 s`));
    }, 15000);
    peer.socket.on('message', check);
    check();
  });
}

describe('datagram boundaries end to end', () => {
  /** Sends each size in turn and waits for it at the far end: the order and every length must hold. */
  async function relayed(args: (inPort: number, outPort: number) => string[], sizes: number[]): Promise<number[]> {
    const sink = await udpPeer();
    const inPort = await relayOnFreePort((port) => start(args(port, sink.port)));
    const source = await udpPeer();
    for (const [i, size] of sizes.entries()) {
      const arrived = packetCount(sink, i + 1);
      await source.send(Buffer.alloc(size, i % 251), inPort);
      await arrived;
    }
    return sink.received.map((r) => r.data.length);
  }

  it('1,000 datagrams of 1 B to 60 KB through -b 65536 UDP-RECV -> UDP-SENDTO arrive whole and in order', async () => {
    const sizes = Array.from({ length: 1000 }, (_, i) => 1 + Math.floor((i * 61439) / 999));
    const got = await relayed((i, o) => ['-u', '-b', '65536', `UDP-RECV:${i}`, `UDP-SENDTO:127.0.0.1:${o}`], sizes);
    expect(got).toEqual(sizes);
  }, 60000);

  it('with socat\'s default -b 8192 a larger datagram is cut, never split; -x dumps and crnl keep packets whole too', async () => {
    expect(await relayed((i, o) => ['-u', `UDP-RECV:${i}`, `UDP-SENDTO:127.0.0.1:${o}`], [100, 20000, 8192, 8193])).toEqual([100, 8192, 8192, 8192]);
    expect(await relayed((i, o) => ['-u', '-x', '-b', '3000', `UDP-RECV:${i}`, `UDP-SENDTO:127.0.0.1:${o}`], [10, 5000, 3000])).toEqual([10, 3000, 3000]);
    expect(await relayed((i, o) => ['-u', `UDP-RECV:${i},crnl`, `UDP-SENDTO:127.0.0.1:${o}`], [10, 100])).toEqual([10, 100]);
  }, 30000);
});

describe('broadcast, multicast and IP options on loopback', () => {
  it('broadcast lets UDP-DATAGRAM send to 127.255.255.255; without it the send fails with EACCES', async () => {
    const port = await udpFreePort();
    const receiver = await udpPeer('0.0.0.0', port);
    const r = await tsocat(['-u', '-', `UDP-DATAGRAM:127.255.255.255:${port},broadcast`], { input: 'to all' });
    expect(r.status).toBe(0);
    await waitFor(() => receiver.received.length >= 1);
    expect(receiver.received[0]?.data.toString()).toBe('to all');
    const refused = await tsocat(['-u', '-', `UDP-DATAGRAM:127.255.255.255:${port}`], { input: 'to all' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/E .*Permission denied/);
  });

  // ip-multicast-loop cannot be seen here: the loopback device hands every packet it sends back to this host
  it('ip-add-membership joins a group on lo; ip-multicast-if sends through it', async () => {
    const port = await udpFreePort();
    const group = '224.0.1.77';
    const p = start(['-u', `UDP-RECV:${port},ip-add-membership=${group}:127.0.0.1`, '-']);
    await waitForUdp(port);
    const send = (text: string, extra: string) => tsocat(['-u', '-', `UDP-DATAGRAM:${group}:${port},ip-multicast-if=127.0.0.1${extra}`], { input: text });
    expect((await send('to the group\n', ',ip-multicast-loop=1')).status).toBe(0);
    await waitFor(() => p.output().includes('to the group\n'));
    expect(p.output()).toBe('to the group\n');
  });

  it('ip-add-source-membership takes a group\'s packets from the one source only', async () => {
    const port = await udpFreePort();
    const group = '232.1.1.9';
    const p = start(['-u', `UDP-RECV:${port},ip-add-source-membership=${group}:127.0.0.1:127.0.0.2`, '-']);
    await waitForUdp(port);
    const send = (text: string, from: string) => tsocat(['-u', '-', `UDP-DATAGRAM:${group}:${port},ip-multicast-if=127.0.0.1,bind=${from}`], { input: text });
    await send('from .1\n', '127.0.0.1');
    await send('from .2\n', '127.0.0.2');
    await waitFor(() => p.output().includes('from .2'));
    expect(p.output()).toBe('from .2\n');
  });

  describe('as the real socat sees them (socat 1.7.4 reports received TTL and TOS)', () => {
    requires('socat');
    /** A socat receiver (also in the multicast group 224.0.1.78 on lo) that notes each packet's received TTL and TOS: its port, and the lines so far. */
    async function ttlTosReceiver(): Promise<{ port: number; lines: () => string[] }> {
      const port = await udpFreePort();
      const envFile = `/tmp/tsocat-udp-ttl-${port}.txt`;
      toClose.push(() => import('node:fs').then((fs) => fs.rmSync(envFile, { force: true })));
      const { spawn } = await import('node:child_process');
      const receiver = spawn(SOCAT as string, ['-u', `UDP4-RECVFROM:${port},ip-recvttl,ip-recvtos,fork,ip-add-membership=224.0.1.78:127.0.0.1`, `SYSTEM:echo "$SOCAT_IP_TTL $SOCAT_IP_TOS" >>${envFile}`], { stdio: 'ignore' });
      toClose.push(() => receiver.kill());
      await waitForUdp(port);
      const lines = () => {
        try {
          return readFileSync(envFile, 'utf8').trim().split('\n').filter(Boolean);
        } catch {
          return [];
        }
      };
      return { port, lines };
    }

    // two tests, one per send, so that the ablation check replays these three options in two rounds, not three
    it('ip-ttl and ip-tos set what the packet carries', async () => {
      const { port, lines } = await ttlTosReceiver();
      await tsocat(['-u', '-', `UDP-SENDTO:127.0.0.1:${port},ip-ttl=7,ip-tos=0x20`], { input: 'a' });
      await waitFor(() => lines().length >= 1);
      expect(lines()).toEqual(['7 32']);
    });

    it('ip-multicast-ttl sets what the multicast packet carries', async () => {
      const { port, lines } = await ttlTosReceiver();
      await tsocat(['-u', '-', `UDP-DATAGRAM:224.0.1.78:${port},ip-multicast-if=127.0.0.1,ip-multicast-ttl=3`], { input: 'b' });
      await waitFor(() => lines().length >= 1);
      expect(lines()).toEqual(['3 0']);
    });
  });
});

describe('IPv6 options as the real socat sees them (socat 1.7.4 reports hop limit and traffic class)', () => {
  requires('socat');
  it('ipv6-unicast-hops and ipv6-tclass set what the packet carries', async () => {
    const port = await udpFreePort();
    const envFile = `/tmp/tsocat-udp-hops-${port}.txt`;
    toClose.push(() => import('node:fs').then((fs) => fs.rmSync(envFile, { force: true })));
    const { spawn } = await import('node:child_process');
    const receiver = spawn(SOCAT as string, ['-u', `UDP6-RECVFROM:${port},ipv6-recvhoplimit,ipv6-recvtclass,fork`, `SYSTEM:echo "$SOCAT_IPV6_HOPLIMIT $SOCAT_IPV6_TCLASS" >>${envFile}`], { stdio: 'ignore' });
    toClose.push(() => receiver.kill());
    await waitForUdp(port);
    await tsocat(['-u', '-', `UDP6-SENDTO:[::1]:${port},ipv6-unicast-hops=5,ipv6-tclass=0x40`], { input: 'a' });
    await waitFor(() => {
      try {
        return readFileSync(envFile, 'utf8').includes('\n');
      } catch {
        return false;
      }
    });
    expect(readFileSync(envFile, 'utf8')).toBe('5 x00000040\n');
  });
});

describe('UDP-Lite', () => {
  it('UDPLITE-RECV <- UDPLITE-SENDTO keeps packets; the checksum coverage options act (a partly covered packet is dropped by recv-cscov)', async () => {
    const port = await udpFreePort();
    const p = start(['-u', `UDPLITE-RECV:${port},udplite-recv-cscov=20`, '-']);
    await waitForUdp(port);
    await tsocat(['-u', '-', `UDPLITE-SENDTO:127.0.0.1:${port},udplite-send-cscov=8`], { input: 'partly covered\n' });
    await tsocat(['-u', '-', `UDPLITE-SENDTO:127.0.0.1:${port}`], { input: 'fully covered\n' });
    await waitFor(() => p.output().includes('fully'));
    expect(p.output()).toBe('fully covered\n');
  });

  it('UDPLITE6-LISTEN and UDPLITE6: a round trip over ::1', async () => {
    const port = await udpFreePort();
    const server = start([`UDPLITE6-LISTEN:${port}`, 'SYSTEM:read l; echo "got $l"']);
    await waitForUdp(port);
    const r = await tsocat(['-t', '2', '-', `UDPLITE6:[::1]:${port}`], { input: 'ping\n' });
    expect(r.stdout.toString()).toBe('got ping\n');
    await waitFor(() => server.exitCode !== null);
  });
});

describe('bad UDP input: one E line, status 1', () => {
  it.each([
    ['UDP with no port', ['-u', '-', 'UDP:127.0.0.1']],
    ['a port out of range', ['-u', '-', 'UDP:127.0.0.1:70000']],
    ['a service name UDP does not know', ['-u', '-', 'UDP:127.0.0.1:no-such-service']],
    ['fork on UDP-SENDTO', ['-u', '-', 'UDP-SENDTO:127.0.0.1:9,fork']],
    ['range with a bad mask', ['-u', 'UDP-RECV:9,range=127.0.0.1/33', '-']],
    ['ip-add-membership without an interface', ['-u', '-', 'UDP-DATAGRAM:224.1.1.1:9,ip-add-membership=224.1.1.1']],
    ['ip-add-membership with an unknown interface name', ['-u', '-', 'UDP-DATAGRAM:224.1.1.1:9,ip-add-membership=224.1.1.1:nosuchif0']],
    ['ip-add-source-membership with two parts', ['-u', '-', 'UDP-DATAGRAM:224.1.1.1:9,ip-add-source-membership=224.1.1.1:127.0.0.1']],
    ['ip-multicast-if that is no IPv4 address', ['-u', '-', 'UDP-DATAGRAM:224.1.1.1:9,ip-multicast-if=::1']],
    ['udplite-send-cscov on plain UDP', ['-u', '-', 'UDP:127.0.0.1:9,udplite-send-cscov=8']],
    ['ip-pktinfo where nothing reads ancillary data', ['-u', '-', 'UDP-SENDTO:127.0.0.1:9,ip-pktinfo']],
    ['so-timestamp on TCP', ['-u', '-', 'TCP:127.0.0.1:9,so-timestamp']],
    ['a bind address of the wrong family', ['-u', '-', 'UDP4:127.0.0.1:9,bind=[::1]']],
  ])('%s', async (_name, args) => {
    const r = await tsocat(args, { input: 'x' });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ E /);
  });

  it('a UDP-LISTEN whose port is taken fails with bind()\'s error and leaves nothing bound', async () => {
    const holder = await udpPeer('0.0.0.0');
    const r = await tsocat([`UDP-LISTEN:${holder.port}`, '-'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E bind\(.*Address already in use/);
  });
});
