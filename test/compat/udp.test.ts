/**
 * UDP command lines through tsocat and through Debian's socat (1.7.4.4) on
 * loopback: the same packets in give the same bytes out and the same exit
 * status. Each relay ends by itself (-T, an empty packet with null-eof, or
 * its one packet), so exit statuses are compared as they come. Empty packets
 * a peer receives are left out: socat 1.8 (and tsocat) end a UDP-CONNECT or
 * UDP-LISTEN peer's input with one, 1.7 does not.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket as DgramSocket, type RemoteInfo } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { exited, freePort, requires, run, SOCAT, TSOCAT, waitFor } from '../helpers.js';

type Tool = 'tsocat' | 'socat';
const command = (tool: Tool, args: string[]): [string, string[]] => (tool === 'tsocat' ? [process.execPath, [TSOCAT, ...args]] : [SOCAT as string, args]);

const toClose: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of toClose.splice(0).reverse()) await f();
});

function udpBound(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return ['/proc/net/udp', '/proc/net/udp6'].some((table) => {
    try {
      return readFileSync(table, 'utf8').split('\n').slice(1).some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex));
    } catch {
      return false;
    }
  });
}

interface Peer {
  socket: DgramSocket;
  port: number;
  received: Array<{ data: Buffer; from: RemoteInfo }>;
  send(data: string | Buffer, port: number, address?: string): Promise<void>;
}

function udpPeer(address = '127.0.0.1', type: 'udp4' | 'udp6' = 'udp4'): Promise<Peer> {
  const socket = createSocket(type);
  const received: Peer['received'] = [];
  socket.on('message', (data, from) => received.push({ data, from }));
  toClose.push(() => new Promise<void>((r) => socket.close(() => r())));
  return new Promise((resolve) =>
    socket.bind(0, address, () =>
      resolve({
        socket,
        port: socket.address().port,
        received,
        send: (data, to, toAddress = address) => new Promise<void>((r, j) => socket.send(data, to, toAddress, (e) => (e ? j(e) : r()))),
      }),
    ),
  );
}

function startTool(tool: Tool, args: string[]): ChildProcess & { out: () => Buffer } {
  const [cmd, argv] = command(tool, args);
  const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (d: Buffer) => chunks.push(d));
  toClose.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return Object.assign(child, { out: () => Buffer.concat(chunks) });
}

/**
 * A receiving relay: `args(port)` listens on a UDP port; packets go to it in
 * order from the given senders; the relay's stdout and exit status are the result.
 */
interface Receiving {
  name: string;
  args: (port: number) => string[];
  packets: Array<{ data: string | Buffer; from?: '127.0.0.1' | '127.0.0.2' | '::1' }>;
  /** Answers the tool sends back to the (first) sender, compared too. */
  answers?: boolean;
  stdin?: string;
}

async function runReceiving(tool: Tool, c: Receiving): Promise<{ status: number | null; out: string; answers: string[] }> {
  const port = await freePort();
  const p = startTool(tool, c.args(port));
  if (c.stdin !== undefined) p.stdin?.write(c.stdin);
  // a loaded machine (CI shares its cores) can take seconds to start a relay
  await waitFor(() => udpBound(port), 20000);
  const peers = new Map<string, Peer>();
  for (const packet of c.packets) {
    const from = packet.from ?? '127.0.0.1';
    if (!peers.has(from)) peers.set(from, await udpPeer(from, from === '::1' ? 'udp6' : 'udp4'));
    const peer = peers.get(from) as Peer;
    await peer.send(packet.data, port, from === '127.0.0.2' ? '127.0.0.1' : from);
  }
  const status = await exited(p, 30000);
  const first = [...peers.values()][0];
  return { status, out: p.out().toString('latin1'), answers: c.answers ? (first?.received.filter((r) => r.data.length > 0).map((r) => r.data.toString()) ?? []) : [] };
}

const big = (n: number) => Buffer.alloc(n, 0x61);

const RECEIVING: Receiving[] = [
  { name: 'UDP-RECV relays each packet', args: (p) => ['-T', '1', '-u', `UDP-RECV:${p}`, '-'], packets: [{ data: 'one\n' }, { data: 'two\n' }, { data: 'three\n' }] },
  { name: 'UDP4-RECV', args: (p) => ['-T', '1', '-u', `UDP4-RECV:${p}`, '-'], packets: [{ data: 'v4\n' }] },
  { name: 'UDP6-RECV over ::1', args: (p) => ['-T', '1', '-u', `UDP6-RECV:${p}`, '-'], packets: [{ data: 'v6\n', from: '::1' }] },
  { name: 'UDP-RECV ignores an empty packet', args: (p) => ['-T', '1', '-u', `UDP-RECV:${p}`, '-'], packets: [{ data: '' }, { data: 'after\n' }] },
  { name: 'UDP-RECV,null-eof ends on an empty packet', args: (p) => ['-u', `UDP-RECV:${p},null-eof`, '-'], packets: [{ data: 'before\n' }, { data: '' }] },
  { name: 'default -b 8192 cuts a 20000-byte datagram', args: (p) => ['-T', '1', '-u', `UDP-RECV:${p}`, '-'], packets: [{ data: big(20000) }, { data: '\nend\n' }] },
  { name: '-b 65536 keeps a 60000-byte datagram', args: (p) => ['-T', '1', '-b', '65536', '-u', `UDP-RECV:${p}`, '-'], packets: [{ data: big(60000) }] },
  { name: '-b 10 cuts every datagram to 10 bytes', args: (p) => ['-T', '1', '-b', '10', '-u', `UDP-RECV:${p}`, '-'], packets: [{ data: '0123456789abcdef\n' }, { data: 'short\n' }] },
  { name: 'crnl on UDP-RECV', args: (p) => ['-T', '1', '-u', `UDP-RECV:${p},crnl`, '-'], packets: [{ data: 'a\r\nb\r\n' }] },
  { name: 'readbytes cuts the packet that reaches it', args: (p) => ['-T', '1', '-u', `UDP-RECV:${p},readbytes=5`, '-'], packets: [{ data: 'abcdefgh\n' }] },
  {
    name: 'range refuses 127.0.0.1, takes 127.0.0.2',
    args: (p) => ['-T', '1', '-u', `UDP-RECV:${p},range=127.0.0.2/32`, '-'],
    packets: [{ data: 'refused\n' }, { data: 'allowed\n', from: '127.0.0.2' }],
  },
  {
    name: 'range with a mask',
    args: (p) => ['-T', '1', '-u', `UDP-RECV:${p},range=127.0.0.2:255.255.255.255`, '-'],
    packets: [{ data: 'refused\n' }, { data: 'allowed\n', from: '127.0.0.2' }],
  },
  { name: 'bind=127.0.0.1 on UDP-RECV', args: (p) => ['-T', '1', '-u', `UDP-RECV:${p},bind=127.0.0.1`, '-'], packets: [{ data: 'bound\n' }] },
  { name: 'UDP-LISTEN relays its first peer until an empty packet', args: (p) => [`UDP-LISTEN:${p}`, '-'], stdin: '', packets: [{ data: 'l1\n' }, { data: 'l2\n' }, { data: '' }] },
  {
    name: 'UDP-LISTEN answers the peer through SYSTEM',
    args: (p) => ['-T', '1', `UDP-LISTEN:${p}`, 'SYSTEM:read l; echo got $l'],
    packets: [{ data: 'hello\n' }],
    answers: true,
  },
  {
    name: 'UDP-RECVFROM answers its one packet\'s sender',
    args: (p) => [`UDP-RECVFROM:${p}`, 'SYSTEM:read l; echo got $l'],
    packets: [{ data: 'question\n' }],
    answers: true,
  },
  {
    name: 'UDP-RECVFROM gives SOCAT_PEERADDR to the program',
    args: (p) => [`UDP-RECVFROM:${p}`, 'SYSTEM:read l; echo $SOCAT_PEERADDR'],
    packets: [{ data: 'x\n' }],
    answers: true,
  },
  ...(
    [
      ['ip-recvttl', 'echo $SOCAT_IP_TTL'],
      ['ip-recvtos', 'echo $SOCAT_IP_TOS'],
      ['ip-pktinfo', 'echo $SOCAT_IP_IF $SOCAT_IP_DSTADDR $SOCAT_IP_LOCADDR'],
      // the time differs: its shape is compared (a date, then the microseconds)
      ['so-timestamp', 'echo $SOCAT_TIMESTAMP | sed "s/[0-9]/N/g"'],
    ] as const
  ).map(([option, show]) => ({
    name: `UDP4-RECVFROM,${option} gives the program what the packet's control message said`,
    args: (p: number) => [`UDP4-RECVFROM:${p},${option}`, `SYSTEM:read l; ${show}`],
    packets: [{ data: 'x\n' }],
    answers: true,
  })),
  { name: 'UDP-LISTEN with range serves an allowed first sender', args: (p) => ['-T', '1', `UDP-LISTEN:${p},range=127.0.0.2/32`, '-'], stdin: '', packets: [{ data: 'yes\n', from: '127.0.0.2' }] },
  { name: 'UDP4-LISTEN relays its first peer', args: (p) => ['-T', '1', `UDP4-LISTEN:${p}`, '-'], stdin: '', packets: [{ data: 'v4 listen\n' }] },
];

describe('UDP receiving command lines, tsocat and socat side by side', () => {
  requires('socat');
  it.each(RECEIVING)('$name', async (c) => {
    const [ours, theirs] = [await runReceiving('tsocat', c), await runReceiving('socat', c)];
    expect(ours).toEqual(theirs);
  });
});

/** A sending relay: what the peer receives (empty packets left out: socat 1.8 ends UDP with one, 1.7 does not) and the exit status. */
interface Sending {
  name: string;
  args: (peerPort: number) => string[];
  input: string;
}

const SENDING: Sending[] = [
  { name: 'UDP-SENDTO sends stdin as a packet', args: (p) => ['-u', '-', `UDP-SENDTO:127.0.0.1:${p}`], input: 'payload\n' },
  { name: 'UDP sends stdin as a packet', args: (p) => ['-u', '-', `UDP:127.0.0.1:${p}`], input: 'connected\n' },
  { name: 'UDP4-CONNECT', args: (p) => ['-u', '-', `UDP4-CONNECT:127.0.0.1:${p}`], input: 'v4\n' },
  { name: 'UDP-DATAGRAM', args: (p) => ['-u', '-', `UDP-DATAGRAM:127.0.0.1:${p}`], input: 'dgram\n' },
  { name: 'UDP-DGRAM alias', args: (p) => ['-u', '-', `UDP-DGRAM:127.0.0.1:${p}`], input: 'dgram\n' },
  { name: 'UDP-SEND alias', args: (p) => ['-u', '-', `UDP-SEND:127.0.0.1:${p}`], input: 'send\n' },
  { name: '-b 4 cuts the input into 4-byte packets', args: (p) => ['-b', '4', '-u', '-', `UDP-SENDTO:127.0.0.1:${p}`], input: 'abcdefghij' },
  { name: 'crnl on the sending side', args: (p) => ['-u', '-', `UDP-SENDTO:127.0.0.1:${p},crnl`], input: 'x\ny\n' },
  { name: 'ip-ttl and ip-tos are accepted on UDP', args: (p) => ['-u', '-', `UDP:127.0.0.1:${p},ip-ttl=9,ip-tos=16`], input: 't\n' },
  { name: 'broadcast to the loopback broadcast address', args: (p) => ['-u', '-', `UDP-DATAGRAM:127.255.255.255:${p},broadcast`], input: 'all\n' },
];

async function runSending(tool: Tool, c: Sending): Promise<{ status: number | null; packets: string[] }> {
  const peer = await udpPeer('0.0.0.0');
  const [cmd, argv] = command(tool, c.args(peer.port));
  const r = await run(cmd, argv, { input: c.input });
  // a last packet may still be on its way: wait for the count to settle on what the input makes
  await waitFor(() => peer.received.filter((x) => x.data.length > 0).length > 0, 3000).catch(() => {});
  return { status: r.status, packets: peer.received.filter((x) => x.data.length > 0).map((x) => x.data.toString()) };
}

describe('UDP sending command lines, tsocat and socat side by side', () => {
  requires('socat');
  it.each(SENDING)('$name', async (c) => {
    const ours = await runSending('tsocat', c);
    const theirs = await runSending('socat', c);
    expect(ours).toEqual(theirs);
  });
});

describe('UDP command lines that fail, tsocat and socat side by side: the same exit status', () => {
  requires('socat');
  it.each([
    ['UDP without a port', ['-u', '-', 'UDP:127.0.0.1']],
    ['fork on UDP-SENDTO', ['-u', '-', 'UDP-SENDTO:127.0.0.1:9,fork']],
    ['a bad range mask', ['-u', 'UDP-RECV:9,range=127.0.0.1/33', '-']],
    ['a non-numeric ip-ttl', ['-u', '-', 'UDP:127.0.0.1:9,ip-ttl=x']],
    ['an ip-add-membership without interface', ['-u', '-', 'UDP-DATAGRAM:224.1.1.1:9,ip-add-membership=224.1.1.1']],
    ['broadcast address without broadcast', ['-u', '-', 'UDP-DATAGRAM:127.255.255.255:9']],
    ['UDP-RECV written to', ['-u', '-', 'UDP-RECV:9']],
    ['a TCP option on UDP', ['-u', '-', 'UDP:127.0.0.1:9,nodelay']],
    ['a UDP-Lite option on UDP', ['-u', '-', 'UDP:127.0.0.1:9,udplite-send-cscov=8']],
    ['UDP-LISTEN without a port', ['-u', 'UDP-LISTEN', '-']],
    ['an ip-multicast-if that is no address', ['-u', '-', 'UDP-DATAGRAM:224.1.1.1:9,ip-multicast-if=foo.invalid']],
  ])('%s', async (_name, args) => {
    const [a, b] = await Promise.all((['tsocat', 'socat'] as const).map((tool) => run(...command(tool, args as string[]), { input: 'x' })));
    expect(a?.status).toBe(b?.status);
    expect(a?.status).not.toBe(0);
  });
});
