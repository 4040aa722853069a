/**
 * Socket options at socat's phases, on TCP clients and listeners: what must
 * be set before bind(), connect() or listen() is set there (the MSS the SYN
 * announces, the device, the mark, SO_REUSEPORT on a client), and the rest
 * reads back from the connection the program is handed. Also range in its
 * forms, and what a bad value gets.
 */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, tcpExchange, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';
import { quietServers, ss } from '../socket-helpers.js';
import { type Probe, probeClient, probeListener, probeProgram, tsocatTool } from '../socket-phase-helpers.js';

const background = backgroundStarter();
const { server: quietServer } = quietServers();
const { dir, cleanup } = tempDir();
afterAll(cleanup);

/** Without tcp-maxseg a loopback connection sends with segments of tens of kilobytes. */
const LOOPBACK_MSS = expect.toSatisfy((mss: number) => mss > 30000);

describe('options set between socket() and connect(), read back from the connected socket', () => {
  // [option text, probe, what getsockopt returns]
  const cases: Array<[string, Probe, string]> = [
    ['so-mark=0x2a', [1, 36], '42'],
    ['so-priority=5', [1, 12], '5'],
    ['so-bindtodevice=lo', [1, 25, 'string'], '[lo]'],
    ['so-debug=1', [1, 1], '1'],
    ['so-dontroute=1', [1, 5], '1'],
    ['so-oobinline=1', [1, 10], '1'],
    ['so-no-check=1', [1, 11], '1'],
    ['so-rcvlowat=3', [1, 18], '3'],
    // struct timeval as four ints: seconds (two halves), microseconds (two halves); a whole number of ticks at any HZ, which the kernel rounds to
    ['so-rcvtimeo=1.5', [1, 20], '1,0,500000,0'],
    ['sndtimeo=3', [1, 21], '3,0,0,0'],
    ['rcvbuf=9000', [1, 8], '18000'],
    ['sndbuf=9000', [1, 7], '18000'],
    ['rcvbuf-late=9000', [1, 8], '18000'],
    ['sndbuf-late=9000', [1, 7], '18000'],
    ['reuseport', [1, 15], '1'],
    ['reuseaddr', [1, 2], '1'],
    ['ip-freebind=1', [0, 15], '1'],
    ['ip-transparent', [0, 19], '1'],
    ['ip-options=x01010101', [0, 4], '16843009'],
    ['tcp-cork=1', [6, 3], '1'],
    ['keepidle=33', [6, 4], '33'],
    ['tcp-keepintvl=7', [6, 5], '7'],
    ['tcp-keepcnt=4', [6, 6], '4'],
    ['tcp-syncnt=3', [6, 7], '3'],
    ['tcp-linger2=9', [6, 8], '9'],
    ['tcp-window-clamp=9000', [6, 10], '9000'],
    ['tcp-user-timeout=1234', [6, 18], '1234'],
    ['setsockopt-socket=1:12:i4', [1, 12], '4'],
    ['setsockopt-connected=1:12:i3', [1, 12], '3'],
    ['setsockopt-listen=1:36:i9', [1, 36], '9'],
  ];
  it.each(cases)('TCP4:…,%s', async (option, probe, expected) => {
    const seen = await probeClient(tsocatTool, option, probeProgram(dir, [probe]));
    expect(seen.stderr).not.toMatch(/ E /);
    expect(seen.line).toBe(expected);
  });

  it('TCP6:[::1]:…,ipv6-v6only=1 sets IPV6_V6ONLY on the client socket', async () => {
    const seen = await probeClient(tsocatTool, 'ipv6-v6only=1', probeProgram(dir, [[41, 26]]), 'TCP6:[::1]');
    expect(seen.line).toBe('1');
    // socat's alias
    expect((await probeClient(tsocatTool, 'v6only=1', probeProgram(dir, [[41, 26]]), 'TCP6:[::1]')).line).toBe('1');
  });

  it('TCP6:[::1]:…,ipv6-multicast-loop=0 clears IPV6_MULTICAST_LOOP (Linux\'s default 1); a value Linux refuses fails as socat words it', async () => {
    const program = probeProgram(dir, [[41, 19]]);
    expect((await probeClient(tsocatTool, '', program, 'TCP6:[::1]')).line).toBe('1');
    expect((await probeClient(tsocatTool, 'ipv6-multicast-loop=0', program, 'TCP6:[::1]')).line).toBe('0');
    expect((await probeClient(tsocatTool, 'mcloop6=0', program, 'TCP6:[::1]')).line).toBe('0');
    const bad = await probeClient(tsocatTool, 'ipv6-multicast-loop=2', program, 'TCP6:[::1]');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/ E setsockopt\(\d+, 41, 19, \{2\}, 4\): Invalid argument\n$/);
  });

  it('fiosetown and siocspgrp make the given process the socket\'s owner (F_GETOWN in the program reads it back; 0 without)', async () => {
    // the owner is the process that gets SIGURG (and SIGIO with async); this test's own pid, which ignores SIGURG
    const owner = join(dir, 'owner-probe');
    writeFileSync(owner, `#!/bin/sh\nexec perl -e 'print 0 + fcntl(STDIN, 9, 0), "\\n"'\n`, { mode: 0o755 });
    expect((await probeClient(tsocatTool, '', owner)).line).toBe('0');
    for (const option of ['fiosetown', 'siocspgrp']) {
      const seen = await probeClient(tsocatTool, `${option}=${process.pid}`, owner);
      expect(seen.stderr).not.toMatch(/ E /);
      expect(seen.line).toBe(String(process.pid));
    }
  });
});

describe('tcp-maxseg and setsockopt-socket reach the SYN; setsockopt comes after connect, as in socat', () => {
  it('a client with tcp-maxseg=500 makes the server send with MSS 488 (500 less timestamps); without it, loopback MSS', async () => {
    const program = probeProgram(dir, [[6, 2]]);
    expect((await probeClient(tsocatTool, 'tcp-maxseg=500', program)).peerMss).toBe(488);
    expect((await probeClient(tsocatTool, 'mss=500', program)).peerMss).toBe(488);
    expect((await probeClient(tsocatTool, '', program)).peerMss).toEqual(LOOPBACK_MSS);
  });

  it('setsockopt-socket=6:2:i500 announces MSS 500; setsockopt=6:2:i500 (socat: once connected) does not', async () => {
    const program = probeProgram(dir, [[6, 2]]);
    expect((await probeClient(tsocatTool, 'setsockopt-socket=6:2:i500', program)).peerMss).toBe(488);
    expect((await probeClient(tsocatTool, 'setsockopt=6:2:i500', program)).peerMss).toEqual(LOOPBACK_MSS);
  });

  it('tcp-maxseg-late is set once connected: the SYN keeps loopback MSS, and a bad value fails only then', async () => {
    const program = probeProgram(dir, [[6, 2]]);
    const late = await probeClient(tsocatTool, 'tcp-maxseg-late=500', program);
    expect(late.status).toBe(0);
    expect(late.peerMss).toEqual(LOOPBACK_MSS);
    const bad = await probeClient(tsocatTool, 'mss-late=1', program);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/ E setsockopt\(\d+, 6, 2, \{1\}, 4\): Invalid argument\n$/);
  });

  it('a listener with tcp-maxseg=500 or setsockopt-listen=6:2:i500 answers the SYN with MSS 500', async () => {
    const program = probeProgram(dir, [[1, 12]]);
    expect((await probeListener(tsocatTool, 'tcp-maxseg=500', program)).peerMss).toBe(488);
    expect((await probeListener(tsocatTool, 'setsockopt-listen=6:2:i500', program)).peerMss).toBe(488);
    expect((await probeListener(tsocatTool, '', program)).peerMss).toEqual(LOOPBACK_MSS);
  });

  it('a listener sets its early options on the listening socket; the accepted one inherits what Linux copies', async () => {
    const program = probeProgram(dir, [[1, 36], [1, 12], [1, 25, 'string'], [1, 8]]);
    const seen = await probeListener(tsocatTool, 'so-mark=7,so-priority=3,so-bindtodevice=lo,rcvbuf=9000', program);
    // SO_PRIORITY stays with the listening socket (an accepted one starts at 0), as with socat (test/compat/socket-phases)
    expect(seen.line).toBe('7 0 [lo] 18000');
  });

  it('setsockopt on a listener goes to each accepted socket once connected', async () => {
    const seen = await probeListener(tsocatTool, 'setsockopt-int=1:12:6', probeProgram(dir, [[1, 12]]));
    expect(seen.line).toBe('6');
  });
});

describe('SO_REUSEPORT on a client, before bind()', () => {
  it('two clients bind the same source port with reuseport; without it the second fails', async () => {
    const a = await quietServer();
    const b = await quietServer();
    const sourcePort = await freePort();
    const first = background(['-d', '-d', `TCP4:127.0.0.1:${a.port},sourceport=${sourcePort},reuseport`, 'STDIO']);
    await waitFor(() => first.errors().includes('successfully connected'));
    const withIt = await tsocat(['-d', '-d', `TCP4:127.0.0.1:${b.port},sourceport=${sourcePort},reuseport`, '/dev/null']);
    expect(withIt.stderr).toContain(`successfully connected from local address AF=2 127.0.0.1:${sourcePort}`);
    const without = await tsocat([`TCP4:127.0.0.1:${b.port},sourceport=${sourcePort}`, '/dev/null']);
    expect(without.status).toBe(1);
    expect(without.stderr).toMatch(/ E bind\(AF=2 0\.0\.0\.0:\d+\): Address already in use\n$/);
  });
});

describe('tcp-defer-accept on a listener', () => {
  it('a peer that has sent nothing stays in SYN-RECV on the listener; with data it is served', async () => {
    const port = await freePort();
    background([`TCP4-LISTEN:${port},bind=127.0.0.1,fork,tcp-defer-accept=3`, 'SYSTEM:cat']);
    await waitForPort(port);
    const silent = connect({ port, host: '127.0.0.1' });
    silent.on('error', () => {});
    try {
      await new Promise((resolve) => silent.once('connect', resolve));
      await waitFor(() => ss('tn', `state syn-recv sport = :${port}`).length === 1);
      expect((await tcpExchange(port, 'hello\n')).toString()).toBe('hello\n');
    } finally {
      silent.destroy();
    }
  });
});

describe('range forms: IPv4 CIDR, addr:mask, [IPv6]/bits', () => {
  const served = async (range: string, client: string, listen = 'TCP6-LISTEN') => {
    const port = await freePort();
    const p = background(['-d', '-d', `${listen}:${port},fork,range=${range}`, 'SYSTEM:echo in']);
    await waitForPort(port, 5000).catch(() => undefined);
    const c = connect({ port, host: client });
    let got = '';
    c.on('data', (d: Buffer) => (got += d.toString()));
    await new Promise((resolve) => {
      c.once('close', resolve);
      c.once('error', resolve);
    });
    return { got, log: p.errors() };
  };

  it('[::1]/128 lets ::1 in and turns 127.0.0.1 away (a dual-stack listener)', async () => {
    expect((await served('[::1]/128', '::1')).got).toBe('in\n');
    const refused = await served('[::1]/128', '127.0.0.1');
    expect(refused.got).toBe('');
    expect(refused.log).toMatch(/ W refusing connection from AF=10 \[::ffff:127\.0\.0\.1\]:\d+ due to range option\n/);
  });

  it('an IPv4 range matches an IPv4 peer on a dual-stack listener', async () => {
    expect((await served('127.0.0.0/8', '127.0.0.1')).got).toBe('in\n');
  });

  it('addr:mask with a dotted mask, and a mask with holes, as socat compares them', async () => {
    expect((await served('127.0.0.0:255.0.0.0', '127.0.0.1', 'TCP4-LISTEN')).got).toBe('in\n');
    // 127.0.0.1 under 255.0.0.255 is 127.0.0.1: the middle bytes are left out
    expect((await served('127.9.9.1:255.0.0.255', '127.0.0.1', 'TCP4-LISTEN')).got).toBe('in\n');
    expect((await served('127.9.9.2:255.0.0.255', '127.0.0.1', 'TCP4-LISTEN')).got).toBe('');
  });
});

describe('bad input: one E line, status 1', () => {
  const cases: Array<[string[], RegExp]> = [
    [['-', 'TCP4:127.0.0.1:1,so-mark=abc'], /E parseopts\(\): missing numerical value of option "so-mark=abc"$/],
    [['-', 'TCP4:127.0.0.1:1,so-bindtodevice=nosuchdev0'], /E setsockopt\(\d+, 1, 25, "nosuchdev0", 11\): No such device$/],
    [['-', 'TCP4:127.0.0.1:1,tcp-maxseg=1'], /E setsockopt\(\d+, 6, 2, \{1\}, 4\): Invalid argument$/],
    [['-', 'TCP4:127.0.0.1:1,so-sndlowat=3'], /E setsockopt\(\d+, 1, 19, \{3\}, 4\): Protocol not available$/],
    [['-', 'TCP4:127.0.0.1:1,setsockopt-socket=1:99999:i1'], /E setsockopt\(\d+, 1, 99999, \{0x01000000\}, 4\): Protocol not available$/],
    [['-', 'TCP4:127.0.0.1:1,setsockopt-socket=1:2'], /E option "setsockopt-socket": expected <level>:<optname>:<value>, got "1:2"$/],
    [['-', 'TCP4:127.0.0.1:1,ipv6-v6only=1'], /E setsockopt\(\d+, 41, 26, \{1\}, 4\): Protocol not available$/],
    [['-', 'TCP4:127.0.0.1:1,tcp-syncnt=500'], /E setsockopt\(\d+, 6, 7, \{500\}, 4\): Invalid argument$/],
    [['TCP4-LISTEN:0,range=127.0.0.1/33', '-'], /E netmask "127\.0\.0\.1\/33" is too large$/],
    [['TCP4-LISTEN:0,range=127.0.0.1/x', '-'], /E not a valid netmask in "127\.0\.0\.1\/x"$/],
    [['TCP4-LISTEN:0,range=127.0.0.1', '-'], /E xioparsenetwork_ip4\("127\.0\.0\.1",,\): missing netmask delimiter$/],
    [['TCP6-LISTEN:0,range=[::1]/129', '-'], /E netmask "\[::1\]\/129" is too large$/],
    [['TCP6-LISTEN:0,range=::1/64', '-'], /E missing brackets for IPv6 range definition "::1\/64"$/],
    [['TCP4-LISTEN:0,range=127.0.0.1:255.x', '-'], /E not a valid netmask in "127\.0\.0\.1:255\.x"$/],
    [['TCP4-LISTEN:0,so-bindtodevice=nosuchdev0', '-'], /E setsockopt\(\d+, 1, 25, "nosuchdev0", 11\): No such device$/],
    [['-', 'TCP4:127.0.0.1:1,pf=ip5'], /E unknown protocol family "ip5"$/],
  ];
  it.each(cases)('%s', async (args, message) => {
    const r = await tsocat(args);
    expect(r.status).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => / E /.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });
});
