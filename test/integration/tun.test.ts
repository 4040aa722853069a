/**
 * TUN: a real TUN/TAP interface, made in a network namespace the test adds
 * itself (ip netns add, as root) and deletes after, so nothing of it reaches
 * the host's own interfaces. Packets are sent to the interface's network from
 * inside the namespace and come out of tsocat as UDP datagrams on 127.0.0.1,
 * one packet per datagram; the interface's name, type, address, flags and MTU
 * are read back with ip(8).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backgroundStarter, requires, tsocat, waitFor } from '../helpers.js';

requires('root', 'tun');
const start = backgroundStarter();
const NS = `tsocat-tun-${process.pid}`;
const isRoot = process.getuid?.() === 0;

interface Link {
  ifname: string;
  flags: string[];
  mtu: number;
  link_type: string;
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

/** The interface `name` inside the namespace, as ip -j addr shows it; undefined while it does not exist. */
function link(name: string): Link | undefined {
  const r = spawnSync('ip', ['-n', NS, '-j', 'addr', 'show', 'dev', name], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return (JSON.parse(r.stdout) as Link[])[0];
}

async function linkUp(name: string, what: (l: Link) => boolean = () => true): Promise<Link> {
  await waitFor(() => {
    const l = link(name);
    return l !== undefined && what(l);
  }, 8000, `interface ${name} in ${NS}`);
  return link(name) as Link;
}

/** Sends one UDP datagram from inside the namespace (a node of its own there); true when send() succeeded. */
function sendInside(host: string, port: number, payload: string): boolean {
  const script = `const s=require('node:dgram').createSocket('udp4');s.send(process.argv[1],${port},'${host}',(e)=>{process.exitCode=e?1:0;s.close();});`;
  return spawnSync('ip', ['netns', 'exec', NS, process.execPath, '-e', script, payload]).status === 0;
}

let receiver: Socket | undefined;
/** A UDP socket on 127.0.0.1 in the test's own namespace collecting every datagram, one Buffer each. */
async function udpReceiver(): Promise<{ port: number; got: Buffer[] }> {
  const got: Buffer[] = [];
  receiver = createSocket('udp4');
  receiver.on('message', (m) => got.push(m));
  await new Promise<void>((r) => receiver?.bind(0, '127.0.0.1', r));
  return { port: receiver.address().port, got };
}

afterEach(() => {
  receiver?.close();
  receiver = undefined;
});

beforeAll(() => {
  if (!isRoot) return;
  const add = spawnSync('ip', ['netns', 'add', NS], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`ip netns add ${NS}: ${add.stderr || add.error}`);
  spawnSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  // no IPv6 in the namespace: the interface then carries only the test's packets (no router solicitations)
  spawnSync('ip', ['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
});

afterAll(() => {
  if (isRoot) spawnSync('ip', ['netns', 'delete', NS]);
});

const ip4 = (b: Buffer, at: number) => [...b.subarray(at, at + 4)].join('.');

/** The IPv4/UDP packet that carries `payload` from 10.255.0.1 to 10.255.0.2:`port`, checked field by field. */
function expectUdpPacket(packet: Buffer, payload: string, port: number): void {
  expect(packet[0]).toBe(0x45); // version 4, 20-byte header
  expect(packet.readUInt16BE(2)).toBe(packet.length); // one read is one whole packet
  expect(packet[9]).toBe(17); // UDP
  expect(ip4(packet, 12)).toBe('10.255.0.1');
  expect(ip4(packet, 16)).toBe('10.255.0.2');
  expect(packet.readUInt16BE(22)).toBe(port);
  expect(packet.subarray(28).toString()).toBe(payload);
}

describe('TUN', () => {
  it('TUN:<if-addr>/<bits>,iff-up,iff-no-pi: a UDP packet sent into its network comes out as one message, a bare IPv4 packet (test.sh TUNREAD)', async () => {
    const { port, got } = await udpReceiver();
    start(['--experimental', '-u', `TUN:10.255.0.1/24,iff-up,iff-no-pi,tun-name=tsotun1,netns=${NS}`, `UDP4-SENDTO:127.0.0.1:${port}`]);
    await linkUp('tsotun1');
    const payload = `through the tunnel ${process.pid}`;
    expect(sendInside('10.255.0.2', 7777, payload)).toBe(true);
    await waitFor(() => got.length > 0, 5000, 'the packet relayed to the UDP socket');
    expect(got).toHaveLength(1);
    expectUdpPacket(got[0] as Buffer, payload, 7777);
  });

  it('without iff-no-pi each packet starts with the 4-byte packet information: flags 0, protocol 0x0800 (IPv4)', async () => {
    const { port, got } = await udpReceiver();
    start(['--experimental', '-u', `TUN:10.255.0.1/24,up,tun-name=tsotun2,netns=${NS}`, `UDP4-SENDTO:127.0.0.1:${port}`]);
    await linkUp('tsotun2');
    expect(sendInside('10.255.0.2', 7778, 'with header')).toBe(true);
    await waitFor(() => got.length > 0, 5000, 'the packet relayed to the UDP socket');
    const message = got[0] as Buffer;
    expect([...message.subarray(0, 4)]).toEqual([0, 0, 0x08, 0x00]);
    expectUdpPacket(message.subarray(4), 'with header', 7778);
  });

  it('a packet written to TUN is received by the system: a UDP socket inside the namespace gets its payload', async () => {
    // an IPv4/UDP packet from 10.255.0.2 to the interface's own 10.255.0.1, UDP checksum 0 (none), as a peer would send it
    const payload = Buffer.from('into the system\n');
    const packet = Buffer.alloc(28 + payload.length);
    packet[0] = 0x45;
    packet.writeUInt16BE(packet.length, 2);
    packet[8] = 64;
    packet[9] = 17;
    Buffer.from([10, 255, 0, 2]).copy(packet, 12);
    Buffer.from([10, 255, 0, 1]).copy(packet, 16);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += packet.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    packet.writeUInt16BE(~sum & 0xffff, 10);
    packet.writeUInt16BE(40000, 20);
    packet.writeUInt16BE(7779, 22);
    packet.writeUInt16BE(8 + payload.length, 24);
    payload.copy(packet, 28);
    const relay = start(['--experimental', '-u', '-', `TUN:10.255.0.1/24,iff-up,iff-no-pi,tun-name=tsotun3,netns=${NS}`]);
    await linkUp('tsotun3', (l) => (l.addr_info ?? []).length > 0);
    // the UDP socket inside the namespace: a node of its own there, stopped (by its pid) at the end
    const script = "const s=require('node:dgram').createSocket('udp4');s.on('message',(m)=>{process.stdout.write(m);s.close();});s.bind(7779,'10.255.0.1',()=>console.error('bound'));";
    const reader = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let bound = false;
    reader.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    reader.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('bound')) bound = true;
    });
    try {
      await waitFor(() => bound, 8000, 'the UDP socket inside the namespace');
      relay.stdin?.write(packet);
      await waitFor(() => out === payload.toString(), 5000, () => `the payload at the socket inside (got ${JSON.stringify(out)})`);
    } finally {
      reader.kill();
    }
  });

  it('tun-name, if-mtu and <if-addr>/<bits>: the interface has that name, MTU, address and prefix; iff-up makes it UP', async () => {
    start(['--experimental', '-u', `TUN:10.255.1.1/20,tun-name=tsotun4,if-mtu=1280,iff-up,netns=${NS}`, '/dev/null']);
    const l = await linkUp('tsotun4', (x) => (x.addr_info ?? []).length > 0);
    expect(l.mtu).toBe(1280);
    expect(l.flags).toContain('UP');
    expect(l.link_type).toBe('none');
    expect(l.addr_info?.filter((a) => a.family === 'inet')).toEqual([expect.objectContaining({ local: '10.255.1.1', prefixlen: 20 })]);
  });

  it('tun-type=tap makes an Ethernet (TAP) interface', async () => {
    start(['--experimental', '-u', `TUN,tun-type=tap,tun-name=tsotap5,netns=${NS}`, '/dev/null']);
    const l = await linkUp('tsotap5');
    expect(l.link_type).toBe('ether');
    expect(l.flags).not.toContain('UP');
  });

  it('the interface flags the kernel lets change are set (1) or cleared (0) as asked', async () => {
    const asked = ['iff-debug', 'notrailers', 'iff-noarp=0', 'iff-promisc', 'allmulti', 'iff-multicast=0', 'iff-portsel', 'automedia', 'iff-dynamic'];
    start(['--experimental', '-u', `TUN,${asked.join(',')},tun-name=tsotun6,netns=${NS}`, '/dev/null']);
    const l = await linkUp('tsotun6');
    expect([...l.flags].sort()).toEqual(['ALLMULTI', 'AUTOMEDIA', 'DEBUG', 'DYNAMIC', 'NOTRAILERS', 'POINTOPOINT', 'PORTSEL', 'PROMISC']);
  });

  it.each([
    ['iff-broadcast', 'iff-broadcast=1: the kernel left the flag cleared'],
    ['iff-loopback', 'iff-loopback=1: the kernel left the flag cleared'],
    ['pointopoint=0', 'iff-pointopoint=0: the kernel left the flag set'],
    ['iff-running', 'iff-running=1: the kernel left the flag cleared'],
    ['iff-master', 'iff-master=1: the kernel left the flag cleared'],
    ['slave', 'iff-slave=1: the kernel left the flag cleared'],
  ])('%s, which the kernel does not change on a TUN interface, is refused: one E line, status 1', async (option, message) => {
    const r = await tsocat(['--experimental', '-u', `TUN,${option},tun-name=tsotun7,netns=${NS}`, '/dev/null']);
    expect(r.stderr).toMatch(new RegExp(`^\\S+ \\S+ tsocat\\[\\d+\\] E "tsotun7": ${message.replace(/[()]/g, '\\$&')} \\(flags now 0x[0-9a-f]+\\)\\n$`));
    expect(r.status).toBe(1);
    expect(link('tsotun7')).toBeUndefined();
  });

  it.each([
    ['TUN:10.255.0.1', 'xioparsenetwork_ip4("10.255.0.1",,): missing netmask delimiter'],
    ['TUN:10.255.0.1/33', 'IPv4 netmask "10.255.0.1/33" is too large'],
    ['TUN:10.255.0.1/x', 'not a valid IPv4 netmask in "10.255.0.1/x"'],
    ['TUN:tunhost/24', 'xioparsenetwork_ip4("tunhost/24",,): "tunhost" is not a numeric IPv4 address'],
    ['TUN,tun-type=tup', 'unknown tun-type "tup"'],
    ['TUN,tun-device=/nonexistent/tun', 'open("/nonexistent/tun", 00, 0666): No such file or directory'],
    ['TUN,tun-name=abcdefghijklmnop', 'tun-name "abcdefghijklmnop" is longer than 15 bytes (IFNAMSIZ)'],
    ['TUN,if-mtu=70000', /xio_netlink_mtu\(index=\d+, mtu=70000\): rtnetlink: Invalid argument/],
  ])('%s is refused with one E line and status 1', async (address, message) => {
    const r = await tsocat(['--experimental', '-u', `${address},netns=${NS}`, '/dev/null']);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    if (typeof message === 'string') expect(lines[0]?.endsWith(` E ${message}`)).toBe(true);
    else expect(lines[0]).toMatch(new RegExp(` E ${message.source}$`));
    expect(r.status).toBe(1);
  });

  it('the interface goes away when tsocat ends', async () => {
    const p = start(['--experimental', '-u', `TUN:10.255.2.1/24,tun-name=tsotun8,netns=${NS}`, '/dev/null']);
    await linkUp('tsotun8');
    p.kill('SIGTERM');
    await waitFor(() => link('tsotun8') === undefined, 5000, 'the interface gone');
  });
});
