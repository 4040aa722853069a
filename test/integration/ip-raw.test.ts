/**
 * Raw IP addresses (root only): IP4-/IP6- SENDTO, RECVFROM, RECV, DATAGRAM
 * with an IP protocol number no one uses here (254, RFC 3692's experimental
 * one), on loopback, as socat's test.sh runs them (RAWIP4RECVFROM, RAWIP4RECV,
 * RAWIP6RECV, RAWIP4RECVBIND). Each client command line also runs with
 * Debian's socat; the bytes must be the same.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requires, run, SOCAT, skipBecause, stop, TSOCAT, tempDir, tsocat } from '../helpers.js';
import { loggedStarter, whenWritten } from '../logged-process.js';

requires('root', 'socat');

const PROTO = 254;
const startLogged = loggedStarter();
const ours = (...args: string[]) => [process.execPath, TSOCAT, '-d', '-d', ...args];
const CLIENTS = [
  ['tsocat', [process.execPath, TSOCAT]],
  ['socat', [SOCAT as string]],
] as const;

async function withOutputFile<T>(body: (path: string) => Promise<T>): Promise<T> {
  const { dir, cleanup } = tempDir();
  try {
    return await body(join(dir, 'out'));
  } finally {
    cleanup();
  }
}

describe('IP4-RECVFROM and IP4-SENDTO', () => {
  it('IP4-RECVFROM with PIPE echoes to an IP4-SENDTO bound to another loopback address (RAWIP4RECVFROM)', async () => {
    for (const [name, client] of CLIENTS) {
      await startLogged(ours(`IP4-RECVFROM:${PROTO},reuseaddr,bind=127.0.0.1`, 'PIPE'), /receiving (on|IP protocol)/);
      const r = await run(client[0], [...client.slice(1), '-t', '2', '-', `IP4-SENDTO:127.0.0.1:${PROTO},bind=127.0.0.2`], { input: `raw ${name}\n` });
      expect(r.stderr, name).toBe('');
      // the IPv4 header is left out: only the payload comes back
      expect(r.stdout.toString(), name).toBe(`raw ${name}\n`);
    }
  });

  it('ip-hdrincl: IP4-SENDTO sends the IPv4 header it is given; the echo carries only the payload (without the option, that header would come back as data)', async () => {
    // protocol 253 (the other experimental one), so this header's packet reaches only this test's receiver
    const proto = 253;
    await startLogged(ours(`IP4-RECVFROM:${proto},reuseaddr,bind=127.0.0.1`, 'PIPE'), /receiving (on|IP protocol)/);
    const payload = Buffer.from('hdrincl\n');
    // version 4, 5 words, TTL 64, protocol, 127.0.0.2 -> 127.0.0.1; the kernel fills in total length, id and checksum
    const header = Buffer.from([0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 127, 0, 0, 2, 127, 0, 0, 1]);
    const r = await tsocat(['-t', '2', '-', `IP4-SENDTO:127.0.0.1:${proto},bind=127.0.0.2,ip-hdrincl=1`], { input: Buffer.concat([header, payload]) });
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe('hdrincl\n');
    // on a UDP socket Linux refuses it, as socat reports
    const udp = await tsocat(['-u', '-', 'UDP4-SENDTO:127.0.0.1:9,ip-hdrincl=1'], { input: 'x' });
    expect(udp.status).toBe(1);
    expect(udp.stderr).toMatch(/ E setsockopt\(\d+, 0, 3, \{1\}, 4\): Protocol not available\n$/);
  });

  it('an IP4-SENDTO from tsocat is answered by socat IP4-RECVFROM the same way', async () => {
    await startLogged([SOCAT as string, '-d', '-d', `IP4-RECVFROM:${PROTO},reuseaddr,bind=127.0.0.1`, 'PIPE'], /receiving (on|IP protocol)/);
    const r = await tsocat(['-t', '2', '-', `IP4-SENDTO:127.0.0.1:${PROTO},bind=127.0.0.2`], { input: 'to socat\n' });
    expect(r.stdout.toString()).toBe('to socat\n');
  });

  it('with fork, each packet is a session of its own: three senders, three child programs', async () => {
    await startLogged(ours(`IP4-RECVFROM:${PROTO},bind=127.0.0.1,fork`, 'SYSTEM:echo $$ $SOCAT_PEERADDR; cat'), /receiving (on|IP protocol)/);
    const replies = await Promise.all(
      // -t 6: the reply comes from a program started per packet, which a loaded machine starts slowly
      [2, 3, 4].map(async (n) => (await tsocat(['-t', '6', '-', `IP4-SENDTO:127.0.0.1:${PROTO},bind=127.0.0.${n}`], { input: `from .${n}\n` })).stdout.toString()),
    );
    const pids = new Set<string>();
    for (const [i, reply] of replies.entries()) {
      const n = i + 2;
      const [first, rest] = reply.split('\n', 2);
      const [pid, peer] = (first as string).split(' ');
      pids.add(pid as string);
      expect(peer).toBe(`127.0.0.${n}`);
      expect(rest).toBe(`from .${n}`);
    }
    expect(pids.size).toBe(3);
  });

  it('a client bound to its own address reads only packets to it: what its raw socket queued before bind() is dropped (12 senders under a flood to 127.0.0.9)', async () => {
    // Until bind() a raw socket takes every packet of its protocol. A flood to
    // an address no one uses makes that window visible (socat's own client
    // reads the flood now and then too): without the drop after bind, some of
    // these clients print flood bytes ahead of their reply.
    // shut-null and null-eof: the reply ends with an empty packet, which ends the client (-t 30 never fires; run() rejects first)
    await startLogged(ours(`IP4-RECVFROM:${PROTO},bind=127.0.0.1,fork,shut-null`, 'PIPE'), /receiving (on|IP protocol)/);
    await startLogged([SOCAT as string, '-d', '-d', '-u', '-b', '16', 'OPEN:/dev/zero', `IP4-SENDTO:127.0.0.9:${PROTO},bind=127.0.0.1`], /starting data transfer loop/);
    const senders = Array.from({ length: 12 }, (_, i) => i + 10);
    const replies = await Promise.all(
      senders.map(async (n) => (await tsocat(['-t', '30', '-', `IP4-SENDTO:127.0.0.1:${PROTO},bind=127.0.0.${n},null-eof`], { input: `from .${n}\n` })).stdout.toString()),
    );
    expect(replies).toEqual(senders.map((n) => `from .${n}\n`));
  });
});

describe('null-eof and shut-null on raw IPv4', () => {
  it('an IPv4 packet with nothing after its header is an empty datagram: it ends a null-eof input, from tsocat and from socat', async () => {
    await startLogged(ours(`IP4-RECVFROM:${PROTO},bind=127.0.0.1,fork,shut-null`, 'PIPE'), /receiving (on|IP protocol)/);
    for (const [name, client] of CLIENTS) {
      // -t 30 would end the client only after run() has given up on it: the empty packet must end it
      const r = await run(client[0], [...client.slice(1), '-t', '30', '-', `IP4-SENDTO:127.0.0.1:${PROTO},bind=127.0.0.2,null-eof`], { input: `null ${name}\n` });
      expect(r.status, name).toBe(0);
      expect(r.stdout.toString(), name).toBe(`null ${name}\n`);
    }
  });
});

describe('IP, IP4, IP6: the short names socat has for IP-SENDTO (RAWIP4SELF, RAWIPX4SELF, RAWIP6SELF, RAWIPX6SELF)', () => {
  it.each(['IP4:127.0.0.1', 'IP:127.0.0.1', 'IP6:[::1]', 'IP:[::1]'])('- %s:<proto> hears its own packet, as with socat', async (target) => {
    for (const [name, client] of CLIENTS) {
      const r = await run(client[0], [...client.slice(1), '-t', '1', '-', `${target}:${PROTO}`], { input: `self ${name}\n` });
      expect(r.stderr, name).toBe('');
      expect(r.stdout.toString(), name).toBe(`self ${name}\n`);
    }
  });
});

describe('IP4-RECV, IP6-RECV', () => {
  it('-u IP4-RECV writes what IP4-SENDTO sent, from tsocat and from socat (RAWIP4RECV)', async () => {
    for (const [name, client] of CLIENTS) {
      await withOutputFile(async (out) => {
        await startLogged(ours('-u', `IP4-RECV:${PROTO},reuseaddr`, `OPEN:${out},creat`), /receiving (on|IP protocol)/);
        await run(client[0], [...client.slice(1), '-u', '-', `IP4-SENDTO:127.0.0.1:${PROTO}`], { input: `recv ${name}\n` });
        expect((await whenWritten(out)).toString(), name).toBe(`recv ${name}\n`);
      });
    }
  });

  it('IP4-RECV with bind= takes only packets to that address (RAWIP4RECVBIND)', async () => {
    await withOutputFile(async (out) => {
      await startLogged(ours('-u', `IP4-RECV:${PROTO},bind=127.0.0.3`, `OPEN:${out},creat`), /receiving (on|IP protocol)/);
      // to 127.0.0.1 first: not for this socket; then to 127.0.0.3
      await tsocat(['-u', '-', `IP4-SENDTO:127.0.0.1:${PROTO}`], { input: 'not this\n' });
      await tsocat(['-u', '-', `IP4-SENDTO:127.0.0.3:${PROTO}`], { input: 'this one\n' });
      expect((await whenWritten(out)).toString()).toBe('this one\n');
    });
  });

  it('IP4-RECV with range= drops packets from outside the range, with socat-style log lines', async () => {
    await withOutputFile(async (out) => {
      const server = await startLogged(ours('-u', `IP4-RECV:${PROTO},range=127.0.0.2/32`, `OPEN:${out},creat`), /receiving (on|IP protocol)/);
      await tsocat(['-u', '-', `IP4-SENDTO:127.0.0.1:${PROTO},bind=127.0.0.1`], { input: 'refused\n' });
      await tsocat(['-u', '-', `IP4-SENDTO:127.0.0.1:${PROTO},bind=127.0.0.2`], { input: 'allowed\n' });
      expect((await whenWritten(out)).toString()).toBe('allowed\n');
      expect(server.log()).toContain('W refusing packet from AF=2 127.0.0.1:0 due to range option');
    });
  });

  it('-u IP6-RECV writes what IP6-SENDTO sent to ::1 (RAWIP6RECV; IPv6 raw sockets carry no header)', async () => {
    for (const [name, client] of CLIENTS) {
      await withOutputFile(async (out) => {
        await startLogged(ours('-u', `IP6-RECV:${PROTO}`, `OPEN:${out},creat`), /receiving (on|IP protocol)/);
        await run(client[0], [...client.slice(1), '-u', '-', `IP6-SENDTO:[::1]:${PROTO}`], { input: `six ${name}\n` });
        expect((await whenWritten(out)).toString(), name).toBe(`six ${name}\n`);
      });
    }
  });

  it('pf=ip6 makes IP-RECV an IPv6 socket', async () => {
    await withOutputFile(async (out) => {
      await startLogged(ours('-u', `IP-RECV:${PROTO},pf=ip6`, `OPEN:${out},creat`), /receiving (on|IP protocol)/);
      await tsocat(['-u', '-', `IP-SENDTO:[::1]:${PROTO}`], { input: 'pf six\n' });
      expect((await whenWritten(out)).toString()).toBe('pf six\n');
    });
  });
});

describe('IP4-DATAGRAM', () => {
  it('sends to the host and reads replies from anyone: two datagram peers talk (as with socat)', async () => {
    for (const [name, client] of CLIENTS) {
      // the echo sends to 127.0.0.2 and listens on 127.0.0.1; the client the other way round
      const echo = await startLogged(ours(`IP4-DATAGRAM:127.0.0.2:${PROTO},bind=127.0.0.1`, 'PIPE'), /starting data transfer loop/);
      const r = await run(client[0], [...client.slice(1), '-t', '2', '-', `IP4-DATAGRAM:127.0.0.1:${PROTO},bind=127.0.0.2`], { input: `dgram ${name}\n` });
      // every raw socket bound there sees each packet: the next round needs this echo gone
      await stop(echo);
      expect(r.stdout.toString(), name).toBe(`dgram ${name}\n`);
    }
  });
});

describe('bad input: one E line, status 1', () => {
  it.each([
    ['IP4-SENDTO:127.0.0.1:300', 'protocol number exceeds 255 (300)'],
    ['IP4-RECV:256', 'protocol number exceeds 255 (256)'],
    ['IP4-SENDTO:127.0.0.1:254,sourceport=5', 'option "sourceport" does not apply to IP4-SENDTO'],
    ['IP4-SENDTO:127.0.0.1:254,so-type=2', 'option "so-type" does not apply to IP4-SENDTO'],
    ['IP4-SENDTO:127.0.0.1:254,bind=127.0.0.1:80', 'a raw IP socket binds an address only'],
    ['IP4-SENDTO:127.0.0.1', 'wrong number of parameters'],
    ['IP-RECV:254,pf=unix', 'unknown protocol family "unix"'],
    ['IP4-RECV:254,range=127.0.0.1/99', 'netmask "127.0.0.1/99" is too large'],
  ])('%s', async (address, message) => {
    const r = await tsocat(['-u', address, '-']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('INTERFACE (AF_PACKET) on a veth pair in a network namespace of the test', () => {
  /**
   * In a fresh network namespace (unshare -n): a veth pair, IPv6 off so the
   * kernel sends nothing of its own, a receiver on veth1 writing frames to a
   * file, then one Ethernet frame (broadcast, ethertype 0x88b5, the local
   * experimental one) written to veth0. Prints the received bytes as hex.
   */
  const script = (receiver: string, sender: string, out: string) => `
set -e
ip link add veth0 type veth peer name veth1
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || true
ip link set veth0 up; ip link set veth1 up
${receiver} -d -d -u INTERFACE:veth1 OPEN:${out},creat 2>${out}.log &
pid=$!
i=0; until grep -q -e 'sending and receiving' -e 'starting data transfer' ${out}.log; do i=$((i+1)); [ $i -lt 250 ] || exit 3; sleep 0.02; done
printf '\\377\\377\\377\\377\\377\\377\\002\\000\\000\\000\\000\\001\\210\\265frame through veth' | ${sender} -u - INTERFACE:veth0
i=0; until [ -s ${out} ]; do i=$((i+1)); [ $i -lt 250 ] || exit 4; sleep 0.02; done
kill $pid; wait $pid || true
od -An -tx1 -v ${out} | tr -d ' \\n'
`;
  const FRAME = Buffer.concat([Buffer.from('ffffffffffff020000000001' + '88b5', 'hex'), Buffer.from('frame through veth')]);
  const TSOCAT_CMD = `${process.execPath} ${TSOCAT}`;

  it.for([
    ['tsocat to tsocat', TSOCAT_CMD, TSOCAT_CMD],
    ['socat to tsocat', TSOCAT_CMD, SOCAT as string],
    ['tsocat to socat', SOCAT as string, TSOCAT_CMD],
  ])('%s: one frame, byte for byte', async ([_name, receiver, sender], ctx) => {
    if ((await run('unshare', ['-n', 'true'])).status !== 0) skipBecause(ctx, 'unshare -n fails here (no CAP_SYS_ADMIN for a network namespace)');
    await withOutputFile(async (out) => {
      const r = await run('unshare', ['-n', 'sh', '-c', script(receiver, sender, out)]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.toString()).toBe(FRAME.toString('hex'));
    });
  });

  it('an interface that does not exist: one E line, status 1', async () => {
    const r = await tsocat(['-u', '-', 'INTERFACE:no-such-if0']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('unknown interface "no-such-if0"');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
