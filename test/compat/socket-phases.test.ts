/**
 * Socket options at socat's phases, the same command lines through tsocat
 * and through real socat: what the peer sees (the MSS of the SYN), what the
 * program handed the connection reads back with getsockopt(), and the
 * errors. Debian's socat is 1.7.4; setsockopt-socket and setsockopt-connected
 * are socat 1.8's, compared with a 1.8 build when one is present.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { requireOrSkip, run, SOCAT, socat18OrSkip, tempDir, TSOCAT } from '../helpers.js';
import { type Probe, probeClient, probeListener, probeProgram, type Tool, tsocatTool } from '../socket-phase-helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

const socatTool = (): Tool => ({ name: 'socat', command: [SOCAT as string] });

/** What both tools show for one client command line: the probe's line and the MSS the server sends with. */
async function bothClients(option: string, probes: Probe[], socat: Tool) {
  const program = probeProgram(dir, probes);
  // one after the other: probeClient returns when the tool exits, and with two at once the server's
  // read of the probe's line could still be pending (a CI try saw socat's line empty)
  const ours = await probeClient(tsocatTool, option, program);
  const theirs = await probeClient(socat, option, program);
  return { ours, theirs };
}

describe('a client: options read back from the connection, tsocat beside socat 1.7.4', () => {
  const cases: Array<[string, Probe[]]> = [
    ['so-priority=5', [[1, 12]]],
    ['so-bindtodevice=lo', [[1, 25, 'string']]],
    ['so-debug=1,so-dontroute=1,so-oobinline=1', [[1, 1], [1, 5], [1, 10]]],
    ['so-rcvlowat=3', [[1, 18]]],
    ['rcvbuf=9000,sndbuf=9000', [[1, 8], [1, 7]]],
    ['rcvbuf-late=9000,sndbuf-late=9000', [[1, 8], [1, 7]]],
    ['reuseport', [[1, 15]]],
    ['reuseaddr', [[1, 2]]],
    ['ip-freebind=1,ip-transparent', [[0, 15], [0, 19]]],
    ['ip-options=x01010101', [[0, 4]]],
    ['tcp-cork=1,keepidle=33,tcp-keepintvl=7,tcp-keepcnt=4', [[6, 3], [6, 4], [6, 5], [6, 6]]],
    ['tcp-syncnt=3,tcp-linger2=9,tcp-window-clamp=9000', [[6, 7], [6, 8], [6, 10]]],
    ['tcp-quickack=0', [[6, 12]]],
    ['setsockopt-int=1:12:3', [[1, 12]]],
    ['setsockopt-listen=1:12:i2', [[1, 12]]],
    ['tcp-maxseg=500', [[6, 2]]],
    ['mss=500', [[6, 2]]],
    ['setsockopt=6:2:i500', [[6, 2]]],
  ];
  it.for(cases)('TCP4:…,%s', async ([option, probes], ctx) => {
    requireOrSkip(ctx, 'socat');
    const { ours, theirs } = await bothClients(option, probes, socatTool());
    expect(theirs.status).toBe(0);
    expect(ours.status).toBe(0);
    expect(ours.line).toBe(theirs.line);
    // the MSS the SYN announced: both set tcp-maxseg before connect(), setsockopt only once connected
    expect(ours.peerMss).toBe(theirs.peerMss);
  });
});

describe('socat 1.8 options: setsockopt-socket before connect, setsockopt-connected after', () => {
  // it.for, not it.each: only it.for hands the test its context, which the skip needs
  it.for([['setsockopt-socket=6:2:i500'], ['setsockopt-connected=6:2:i500'], ['setsockopt-socket=1:12:i4,setsockopt-connected=1:36:i5']])('TCP4:…,%s', async ([option], ctx) => {
    const socat18 = socat18OrSkip(ctx, 'Debian has 1.7.4, which lacks these options');
    const { ours, theirs } = await bothClients(option, [[6, 2], [1, 12], [1, 36]], { name: 'socat 1.8', command: [socat18] });
    expect(theirs.status).toBe(0);
    expect(ours.line).toBe(theirs.line);
    expect(ours.peerMss).toBe(theirs.peerMss);
  });
});

describe('a listener: early options on the listening socket, the accepted one as Linux leaves it', () => {
  it.for([
    ['tcp-maxseg=500', [[6, 2]]],
    ['setsockopt-listen=6:2:i500', [[6, 2]]],
    ['so-priority=3,so-bindtodevice=lo,rcvbuf=9000', [[1, 12], [1, 25, 'string'], [1, 8]]],
    ['setsockopt-int=1:12:6', [[1, 12]]],
    ['keepidle=40,tcp-keepcnt=3', [[6, 4], [6, 6]]],
  ] as Array<[string, Probe[]]>)('TCP4-LISTEN:…,%s', async ([option, probes], ctx) => {
    requireOrSkip(ctx, 'socat');
    const program = probeProgram(dir, probes);
    // each on a port of its own, so the two run side by side
    const [ours, theirs] = await Promise.all([probeListener(tsocatTool, option, program), probeListener(socatTool(), option, program)]);
    expect(theirs.line).not.toBe('');
    expect(ours.line).toBe(theirs.line);
    // the MSS the SYN-ACK announced (loopback's own, read this early, wavers by a few bytes)
    if (/maxseg|6:2:/.test(option)) expect(ours.peerMss).toBe(theirs.peerMss);
  });
});

describe('bad values: the same error line and status', () => {
  /** The message of the only E line, with the descriptor number (which differs) left out. */
  const onlyError = (stderr: string) => stderr.split('\n').filter((l) => / E /.test(l)).map((l) => l.replace(/^.* E /, '').replace(/^setsockopt\(\d+,/, 'setsockopt(N,'));
  it.for([
    ['-', 'TCP4:127.0.0.1:1,so-bindtodevice=nosuchdev0'],
    ['-', 'TCP4:127.0.0.1:1,tcp-maxseg=1'],
    ['-', 'TCP4:127.0.0.1:1,so-priority=abc'],
    ['-', 'TCP4:127.0.0.1:1,so-sndlowat=3'],
    ['-', 'TCP4:127.0.0.1:1,tcp-syncnt=500'],
    ['-', 'TCP4:127.0.0.1:1,pf=ip5'],
    ['TCP4-LISTEN:0,range=127.0.0.1/33', '-'],
    ['TCP4-LISTEN:0,range=127.0.0.1/x', '-'],
    ['TCP4-LISTEN:0,range=127.0.0.1', '-'],
    ['TCP6-LISTEN:0,range=[::1]/129', '-'],
    ['TCP4-LISTEN:0,range=nosuchhost.invalid/8', '-'],
  ])('%s %s', async ([a, b], ctx) => {
    requireOrSkip(ctx, 'socat');
    const ours = await run(process.execPath, [TSOCAT, a, b], { timeoutMs: 5000 });
    const theirs = await run(SOCAT as string, [a, b], { timeoutMs: 5000 });
    expect(ours.status).toBe(1);
    expect(theirs.status).toBe(1);
    // socat words a failed lookup with its hints; the rest is the same
    expect(onlyError(ours.stderr)).toEqual(onlyError(theirs.stderr).map((l) => l.replace(/, \{\d+,\d+,\d+,\d+\}, \{\}\)/, ', {})')));
  });
});
