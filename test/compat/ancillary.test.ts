/**
 * Ancillary data on the datagram receiving addresses, through tsocat and
 * through socat: a packet sent with ip-ttl, ip-tos, ip-options,
 * ipv6-unicast-hops or ipv6-tclass set comes to UDP4/UDP6/IP4/IP6-RECV with
 * the option that asks for its control message, and both log the same
 * `I ancillary message: TYPE: name=value` lines (socat's test.sh
 * UDP4SCM_*, UDP6SCM_*, IP4SCM_*, IP6SCM_*); on …-RECVFROM both give the
 * program the same SOCAT_* variables (test.sh's …ENV_*). The sender is
 * tsocat in both runs, so only the receiver differs. Each case also checks
 * the value itself, so a line both tools got wrong the same way still fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, requireOrSkip, run, SOCAT, stop, TSOCAT, waitFor } from '../helpers.js';

type Tool = 'tsocat' | 'socat';

const started: ChildProcess[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) await stop(p);
});

function udpBound(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return ['/proc/net/udp', '/proc/net/udp6'].some((table) => readFileSync(table, 'utf8').split('\n').slice(1).some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex)));
}

interface Case {
  name: string;
  /** The receiving address and the sending one, for a port (UDP) or a protocol number (raw IP). */
  receive: (p: number) => string;
  send: (p: number) => string;
  /** RECV: the log lines expected (`ancillary message: …`); RECVFROM: the program's output. */
  expected: string[];
  /** RECVFROM: the shell command that shows the variables. */
  show?: string;
  root?: boolean;
  /** The sender needs root (sticky IPv6 extension headers need CAP_NET_RAW); the receiver is UDP. */
  rootSender?: boolean;
}

/**
 * A timestamp differs from run to run: its shape is compared. A timestamp line's shape: its weekday, month and day of month (padded to two places, as ctime does) and every
 * digit replaced, so the line compares on any date; the rest (format, spacing, field order) is compared as it is.
 */
const shape = (line: string) =>
  line
    .replace(/\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d /, 'Www Mmm DD ')
    .replace(/\d/g, 'N');

const ANY6 = '[0000:0000:0000:0000:0000:0000:0000:0001]';

const CASES: Case[] = [
  { name: 'UDP4-RECV,ip-recvopts logs the IP options sent (ip-options=x01000000)', receive: (p) => `UDP4-RECV:${p},ip-recvopts`, send: (p) => `UDP4-SENDTO:127.0.0.1:${p},ip-options=x01000000`, expected: ['IP_OPTIONS: options=x01000000'] },
  { name: 'UDP4-RECV,ip-recvttl logs the TTL sent (ip-ttl=53)', receive: (p) => `UDP4-RECV:${p},ip-recvttl`, send: (p) => `UDP4-SENDTO:127.0.0.1:${p},ip-ttl=53`, expected: ['IP_TTL: ttl=53'] },
  { name: 'UDP4-RECV,ip-recvtos logs the TOS sent (ip-tos=7)', receive: (p) => `UDP4-RECV:${p},ip-recvtos`, send: (p) => `UDP4-SENDTO:127.0.0.1:${p},ip-tos=7`, expected: ['IP_TOS: tos=7'] },
  {
    name: 'UDP4-RECV,ip-pktinfo logs interface, local and destination address',
    receive: (p) => `UDP4-RECV:${p},ip-pktinfo`,
    send: (p) => `UDP4-SENDTO:127.0.0.1:${p}`,
    expected: ['IP_PKTINFO: if=lo', 'IP_PKTINFO: locaddr=127.0.0.1', 'IP_PKTINFO: dstaddr=127.0.0.1'],
  },
  { name: 'UDP4-RECV,so-timestamp logs the arrival time', receive: (p) => `UDP4-RECV:${p},so-timestamp`, send: (p) => `UDP4-SENDTO:127.0.0.1:${p}`, expected: [shape('SCM_TIMESTAMP: timestamp=Fri Dec  4 09:08:18 2026, 995295 usecs')] },
  { name: 'UDP6-RECV,ipv6-recvpktinfo logs the destination address and interface', receive: (p) => `UDP6-RECV:${p},ipv6-recvpktinfo`, send: (p) => `UDP6-SENDTO:[::1]:${p}`, expected: [`IPV6_PKTINFO: dstaddr=${ANY6}`, 'IPV6_PKTINFO: if=lo'] },
  { name: 'UDP6-RECV,ipv6-recvhoplimit logs the hop limit sent (ipv6-unicast-hops=35)', receive: (p) => `UDP6-RECV:${p},ipv6-recvhoplimit`, send: (p) => `UDP6-SENDTO:[::1]:${p},ipv6-unicast-hops=35`, expected: ['IPV6_HOPLIMIT: hoplimit=35'] },
  { name: 'UDP6-RECV,ipv6-recvtclass logs the traffic class sent (ipv6-tclass=0xaa)', receive: (p) => `UDP6-RECV:${p},ipv6-recvtclass`, send: (p) => `UDP6-SENDTO:[::1]:${p},ipv6-tclass=0xaa`, expected: ['IPV6_TCLASS: tclass=x000000aa'] },
  // a record-route option (type 7, length 7, pointer 4, one empty slot, end of options): the reply's copy holds 127.0.0.1 and the pointer past it
  { name: 'UDP4-RECV,ip-retopts logs the options prepared for a reply', receive: (p) => `UDP4-RECV:${p},ip-retopts=1`, send: (p) => `UDP4-SENDTO:127.0.0.1:${p},ip-options=x0707040000000000`, expected: ['IP: type_7=x0707087f00000100'] },
  // a sticky extension header on the sender (setsockopt-socket): next header (the kernel's: 0x11, UDP), length 0, a PadN option of 4 bytes
  {
    name: 'UDP6-RECV,ipv6-recvhopopts logs the hop-by-hop options header sent (root)',
    rootSender: true,
    receive: (p) => `UDP6-RECV:${p},ipv6-recvhopopts=1`,
    send: (p) => `UDP6-SENDTO:[::1]:${p},setsockopt-socket=41:54:x0000010400000000`,
    expected: ['IPV6_HOPOPTS: hopopts=x1100010400000000'],
  },
  {
    name: 'UDP6-RECVFROM,ipv6-recvdstopts gives the program SOCAT_IPV6_DSTOPTS (root)',
    rootSender: true,
    receive: (p) => `UDP6-RECVFROM:${p},ipv6-recvdstopts=1`,
    send: (p) => `UDP6-SENDTO:[::1]:${p},setsockopt-socket=41:59:x0000010400000000`,
    show: 'echo $SOCAT_IPV6_DSTOPTS',
    expected: ['x1100010400000000'],
  },
  {
    name: 'UDP4-RECVFROM,ip-recvopts gives the program SOCAT_IP_OPTIONS',
    receive: (p) => `UDP4-RECVFROM:${p},ip-recvopts`,
    send: (p) => `UDP4-SENDTO:127.0.0.1:${p},ip-options=x01000000`,
    show: 'echo $SOCAT_IP_OPTIONS',
    expected: ['x01000000'],
  },
  {
    name: 'UDP6-RECVFROM with ipv6-recvpktinfo, -recvhoplimit, -recvtclass gives the program SOCAT_IPV6_*',
    receive: (p) => `UDP6-RECVFROM:${p},ipv6-recvpktinfo,ipv6-recvhoplimit,ipv6-recvtclass`,
    send: (p) => `UDP6-SENDTO:[::1]:${p},ipv6-unicast-hops=35,ipv6-tclass=0xaa`,
    show: 'echo $SOCAT_IPV6_DSTADDR $SOCAT_IPV6_IF $SOCAT_IPV6_HOPLIMIT $SOCAT_IPV6_TCLASS',
    expected: [`${ANY6} lo 35 x000000aa`],
  },
  // raw IP needs root; each case its own protocol number, so cases running side by side do not hear each other
  { name: 'IP4-RECV,ip-recvttl,so-timestamp logs both (root)', root: true, receive: (p) => `IP4-RECV:${p},ip-recvttl,so-timestamp`, send: (p) => `IP4-SENDTO:127.0.0.1:${p},ip-ttl=53`, expected: [shape('SCM_TIMESTAMP: timestamp=Fri Dec  4 09:08:18 2026, 995295 usecs'), 'IP_TTL: ttl=53'] },
  { name: 'IP4-RECVFROM,ip-recvtos gives the program SOCAT_IP_TOS (root)', root: true, receive: (p) => `IP4-RECVFROM:${p},ip-recvtos`, send: (p) => `IP4-SENDTO:127.0.0.1:${p},ip-tos=7`, show: 'echo $SOCAT_IP_TOS', expected: ['7'] },
  {
    name: 'IP6-RECVFROM,ipv6-recvhoplimit gives the program SOCAT_IPV6_HOPLIMIT (root)',
    root: true,
    receive: (p) => `IP6-RECVFROM:${p},ipv6-recvhoplimit`,
    send: (p) => `IP6-SENDTO:[::1]:${p},ipv6-unicast-hops=35`,
    show: 'echo $SOCAT_IPV6_HOPLIMIT',
    expected: ['35'],
  },
];

/** Raw IP protocol numbers for the root cases, from the range IANA leaves for experiments (253, 254) and unassigned ones. */
const rawProtocols = new Map<string, number>(CASES.filter((c) => c.root).map((c, i) => [c.name, 200 + i]));

async function receive(tool: Tool, c: Case): Promise<string[]> {
  const raw = rawProtocols.get(c.name);
  const target = raw ?? (await freePort());
  const args = c.show ? ['-d', '-d', '-u', c.receive(target), `SYSTEM:${c.show}`] : ['-d', '-d', '-d', '-u', c.receive(target), '-'];
  const [cmd, argv] = tool === 'tsocat' ? [process.execPath, [TSOCAT, ...args]] : [SOCAT as string, args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  // once the socket is ready both log "receiving on …" or "receiving IP protocol …" (RECVFROM), or start the transfer (RECV)
  await waitFor(() => / N (receiving (on|IP protocol)|starting data transfer loop)/.test(err) && (raw !== undefined || udpBound(target)), 10000, `${tool} receiving`);
  const sent = await run(process.execPath, [TSOCAT, '-u', '-', c.send(target)], { input: 'XYZ\n' });
  expect(sent.status, sent.stderr).toBe(0);
  const lines = () => (c.show ? out.split('\n').filter(Boolean) : err.split('\n').flatMap((l) => /ancillary message: (.*)$/.exec(l)?.[1] ?? []));
  await waitFor(() => lines().length >= c.expected.length, 10000, `${tool}: ${c.expected.join(' / ')}`);
  return lines().map((l) => (l.startsWith('SCM_TIMESTAMP') ? shape(l) : l));
}

describe('ancillary data on the receiving addresses, tsocat and socat side by side', () => {
  it.for(CASES)('$name', async (c, ctx) => {
    requireOrSkip(ctx, 'socat', ...(c.root || c.rootSender ? (['root'] as const) : []));
    const ours = await receive('tsocat', c);
    const theirs = await receive('socat', c);
    expect(ours).toEqual(c.expected);
    expect(ours).toEqual(theirs);
  }, 30000);
});

describe('ip-mtu-discover, tsocat and socat side by side', () => {
  /** 2000 bytes as one packet through a loopback whose MTU is 1280, in a network namespace of the test's own: the exit status. */
  const bigPacket = async (tool: Tool, option: string) => {
    const command = tool === 'tsocat' ? `"${process.execPath}" "${TSOCAT}"` : `"${SOCAT}"`;
    const r = await run('unshare', ['-n', 'sh', '-c', `ip link set lo mtu 1280 up && head -c 2000 /dev/zero | exec ${command} -b 3000 -u - UDP4-SENDTO:127.0.0.1:9,${option}`]);
    return r.status;
  };

  it.for(['mtudiscover=0', 'mtudiscover=1', 'mtudiscover=2'])('%s: the same exit status for a packet over the MTU', async (option, ctx) => {
    requireOrSkip(ctx, 'socat', 'root');
    const [ours, theirs] = await Promise.all([bigPacket('tsocat', option), bigPacket('socat', option)]);
    expect(ours).toBe(option === 'mtudiscover=2' ? 1 : 0);
    expect(ours).toBe(theirs);
  });
});
