/**
 * SCTP-*, DCCP-* and VSOCK-* (socat 1.8's list). Where this kernel lacks a
 * protocol the addresses still parse and fail at run time with socat's own
 * lines and status; each failure is compared with the socat 1.8 build (and
 * with Debian's socat 1.7.4 where it has the address). Where the kernel has
 * SCTP or DCCP, a relay runs through a forking listener.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import { backgroundStarter, freePort, run, SOCAT, skipBecause, socat18OrSkip, stop, tsocat, waitFor } from '../helpers.js';

const start = backgroundStarter();

const launched: ChildProcess[] = [];
afterEach(async () => {
  for (const p of launched.splice(0)) await stop(p);
});

/** Starts socat in the background with its stderr collected; stopped by pid after the test. */
function launchSocat(program: string, args: string[]) {
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  launched.push(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return Object.assign(child, { errors: () => err });
}

/** stderr without the time stamp, program name and pid, and with descriptor numbers (socat's 5, tsocat's own) as N. */
function normalized(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/^\S+ \S+ \S+\[\d+\] /, '').replace(/connect\(\d+, /, 'connect(N, '));
}

/** Both programs' lines and status for one command line. */
async function both(socat: string, args: string[], timeoutMs = 15000) {
  const [t, s] = await Promise.all([tsocat(args, { timeoutMs }), run(socat, args, { timeoutMs })]);
  return { tsocat: { status: t.status, lines: normalized(t.stderr) }, socat: { status: s.status, lines: normalized(s.stderr) } };
}

/** What the kernel answers socket(domain, type, protocol): undefined when it makes one, else the errno's name. */
function kernelRefusal(domain: number, type: number, protocol: number): string | undefined {
  const r = spawnSync('python3', ['-c', `import socket,errno\ntry: socket.socket(${domain}, ${type}, ${protocol}).close()\nexcept OSError as e: print(errno.errorcode[e.errno])`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 could not ask the kernel for socket(${domain}, ${type}, ${protocol}): ${r.error?.message ?? r.stderr}`);
  return r.stdout.trim() || undefined;
}

/** A kernel without the protocol's module says one of these; anything else is a fault, not a reason to skip. */
const LACKS_PROTOCOL = new Set(['EPROTONOSUPPORT', 'ESOCKTNOSUPPORT']);

const SCTP_REFUSED = kernelRefusal(2, 1, 132);
const DCCP_REFUSED = kernelRefusal(2, 6, 33);

/** Runs only where the kernel refuses the protocol; elsewhere the relay test below speaks for it. */
function refusedOrSkip(ctx: TestContext, address: string): void {
  const refused = address.toUpperCase().startsWith('SCTP') ? SCTP_REFUSED : DCCP_REFUSED;
  if (!refused) skipBecause(ctx, `this kernel offers ${address.slice(0, 4)}: its failure to make the socket cannot be shown here`);
}

describe('SCTP and DCCP where the kernel lacks them: socat 1.8\'s run-time error, status 1', () => {
  it.for([
    'SCTP-CONNECT:127.0.0.1:1', 'SCTP:localhost:1', 'SCTP4-CONNECT:127.0.0.1:1', 'sctp4:127.0.0.1:1', 'SCTP6-CONNECT:[::1]:1', 'SCTP6:[::1]:1',
    'SCTP-LISTEN:1', 'SCTP-L:1', 'SCTP4-LISTEN:1', 'SCTP6-LISTEN:1,fork', 'SCTP6-L:1',
    'DCCP-CONNECT:127.0.0.1:1', 'DCCP:127.0.0.1:1', 'DCCP4-CONNECT:127.0.0.1:1', 'DCCP6-CONNECT:[::1]:1', 'DCCP6:[::1]:1',
    'DCCP-LISTEN:1', 'DCCP-L:1,range=127.0.0.1/32', 'DCCP4-LISTEN:1', 'DCCP6-LISTEN:1', 'DCCP6-L:1',
  ])('%s', async (address, ctx) => {
    refusedOrSkip(ctx, address);
    const r = await both(socat18OrSkip(ctx, 'the SCTP and DCCP addresses came with socat 1.8'), ['-', address]);
    expect(r.tsocat).toEqual(r.socat);
    expect(r.tsocat.status).toBe(1);
    // the kernel's refusal, not the parser's
    expect(r.tsocat.lines.join('\n')).toMatch(/socket\((2|10), (1|6), (132|33)\): (Protocol|Socket type) not supported/);
  });

  it.for(['SCTP-LISTEN:1', 'SCTP4-LISTEN:1', 'SCTP6-LISTEN:1'])("%s: as Debian's socat 1.7.4 says it", async (address, ctx) => {
    refusedOrSkip(ctx, address);
    if (!SOCAT) skipBecause(ctx, 'socat is not on PATH (the comparison needs the real one)');
    const [t, s] = await Promise.all([tsocat(['-', address]), run(SOCAT, ['-', address])]);
    expect({ status: t.status, lines: normalized(t.stderr) }).toEqual({ status: s.status, lines: normalized(s.stderr) });
  });
});

describe('an address literal of the other IP version than the keyword or pf= fixes: socat 1.8\'s lookup failure, before any socket', () => {
  it.for([
    'SCTP4-CONNECT:[::1]:1', 'SCTP6-CONNECT:127.0.0.1:1', 'SCTP-CONNECT:[::1]:1,pf=ip4', 'SCTP-CONNECT:127.0.0.1:1,pf=ip6', 'DCCP6:127.0.0.1:1',
    'SCTP6-LISTEN:1,bind=127.0.0.1', 'SCTP4-LISTEN:1,bind=::1', 'SCTP4-LISTEN:1,bind=[::1]', 'DCCP-LISTEN:1,pf=ip4,bind=::1',
  ])('%s', async (address, ctx) => {
    const r = await both(socat18OrSkip(ctx, 'the SCTP and DCCP addresses came with socat 1.8'), ['-', address]);
    expect(r.tsocat).toEqual(r.socat);
    expect(r.tsocat.status).toBe(1);
    expect(r.tsocat.lines).toHaveLength(2);
    expect(r.tsocat.lines[1]).toMatch(/^E .*: Address family for hostname not supported$/);
  });
});

describe('SCTP and DCCP where the kernel has them', () => {
  it.for([
    ['SCTP', '127.0.0.1'],
    ['SCTP6', '[::1]'],
    ['DCCP', '127.0.0.1'],
  ])('%s-LISTEN,fork PIPE echoes what %s-CONNECT sends, one session per client', async ([stem, host], ctx) => {
    const refused = (stem as string).startsWith('SCTP') ? SCTP_REFUSED : DCCP_REFUSED;
    if (refused && !LACKS_PROTOCOL.has(refused)) throw new Error(`socket() for ${stem} failed with ${refused}, not for want of the protocol`);
    // the kernel's lack, not a tool's: skipped with its reason even under CI
    if (refused) skipBecause(ctx, `this kernel has no ${stem} (socket() says ${refused}): no relay to show`);
    const port = await freePort();
    const server = start(['-d', '-d', `${stem}-LISTEN:${port},fork,reuseaddr,bind=${(host as string).replace(/[[\]]/g, '')}`, 'PIPE']);
    await waitFor(() => server.errors().includes('listening on'), 5000, () => server.errors());
    for (const text of ['first\n', 'second\n']) {
      const client = await tsocat(['-', `${stem}-CONNECT:${host}:${port}`], { input: text });
      expect(client.stdout.toString()).toBe(text);
      expect(client.status).toBe(0);
    }
  });
});

describe('VSOCK', () => {
  it('VSOCK-LISTEN listens on any context id, logs it as socat 1.8 does, and SIGTERM ends it with 143', async (ctx) => {
    const socat = socat18OrSkip(ctx, 'VSOCK came with socat 1.8');
    if (kernelRefusal(40, 1, 0)) skipBecause(ctx, `this kernel has no AF_VSOCK (${kernelRefusal(40, 1, 0)})`);
    const port = 20000 + Math.floor(Math.random() * 40000);
    const logs: string[][] = [];
    for (const program of ['tsocat', socat]) {
      const args = ['-d', '-d', `VSOCK-LISTEN:${port}`, 'PIPE'];
      const child = program === 'tsocat' ? start(args) : launchSocat(program, args);
      await waitFor(() => child.errors().includes('listening on'), 5000, () => child.errors());
      expect(await stop(child)).toBe(143);
      logs.push(normalized(child.errors()).filter((l) => / (listening on|VSOCK CID=)|^W exiting/.test(l)));
    }
    expect(logs[0]).toEqual(logs[1]);
    expect(logs[0]).toContain(`N listening on AF=40 cid:4294967295 port:${port}`);
  });

  it("VSOCK-LISTEN,bind=<this machine's cid> listens on that context id only, as socat 1.8", async (ctx) => {
    const socat = socat18OrSkip(ctx, 'VSOCK came with socat 1.8');
    if (kernelRefusal(40, 1, 0)) skipBecause(ctx, 'this kernel has no AF_VSOCK');
    const probe = start(['-d', '-d', `VSOCK-LISTEN:${20000 + Math.floor(Math.random() * 40000)}`, 'PIPE']);
    await waitFor(() => probe.errors().includes('listening on'), 5000, () => probe.errors());
    const cid = / N VSOCK CID=(\d+)/.exec(probe.errors())?.[1];
    if (cid === undefined) skipBecause(ctx, 'no /dev/vsock to tell this machine\'s context id');
    const port = 20000 + Math.floor(Math.random() * 40000);
    const lines: string[][] = [];
    for (const program of ['tsocat', socat]) {
      const args = ['-d', '-d', `VSOCK-LISTEN:${port},bind=${cid}`, 'PIPE'];
      const child = program === 'tsocat' ? start(args) : launchSocat(program, args);
      await waitFor(() => child.errors().includes('listening on'), 5000, () => child.errors());
      await stop(child);
      lines.push(normalized(child.errors()).filter((l) => l.includes('listening on')));
    }
    expect(lines[0]).toEqual([`N listening on AF=40 cid:${cid} port:${port}`]);
    expect(lines[0]).toEqual(lines[1]);
  });

  it.for(['VSOCK-CONNECT:1:{port},connect-timeout=0.3', 'VSOCK:2:{port}'])('%s fails as socat 1.8 fails', async (address, ctx) => {
    const socat = socat18OrSkip(ctx, 'VSOCK came with socat 1.8');
    if (kernelRefusal(40, 1, 0)) skipBecause(ctx, 'this kernel has no AF_VSOCK');
    // nothing listens on the port: where the kernel has loopback both are refused, without it the connect times out (or the host resets it)
    const r = await both(socat, ['-', address.replace('{port}', String(20000 + Math.floor(Math.random() * 40000)))]);
    expect(r.tsocat).toEqual(r.socat);
    expect(r.tsocat.status).toBe(1);
    expect(r.tsocat.lines).toHaveLength(1);
  });
});

describe('bad input: one E line, status 1, socat 1.8\'s words', () => {
  it.for([
    'SCTP-CONNECT:127.0.0.1', 'SCTP-CONNECT:127.0.0.1:', 'SCTP-LISTEN:', 'DCCP4-CONNECT:localhost', 'SCTP4-CONNECT:127.0.0.1:1,ipv6-v6only',
    'VSOCK-CONNECT:1', 'VSOCK-CONNECT:x:1', 'VSOCK-CONNECT:2:1x', 'VSOCK-LISTEN:x', 'VSOCK-LISTEN:1,range=127.0.0.1/32', 'VSOCK-LISTEN:1,bind=3:7', 'VSOCK-LISTEN:1,bind=x',
  ])('%s', async (address, ctx) => {
    const r = await both(socat18OrSkip(ctx, 'these addresses came with socat 1.8'), ['-', address]);
    expect(r.tsocat).toEqual(r.socat);
    expect(r.tsocat.status).toBe(1);
    expect(r.tsocat.lines).toHaveLength(1);
    expect(r.tsocat.lines[0]).toMatch(/^E /);
  });
});

describe('-V', () => {
  it('defines WITH_SCTP, WITH_DCCP and WITH_VSOCK as socat 1.8 does', async (ctx) => {
    const socat = socat18OrSkip(ctx, 'the feature list of socat 1.8');
    const pick = (text: string) => text.split('\n').filter((l) => /WITH_(SCTP|DCCP|VSOCK)\b/.test(l));
    const [t, s] = await Promise.all([tsocat(['-V']), run(socat, ['-V'])]);
    expect(pick(t.stdout.toString())).toEqual(pick(s.stdout.toString()));
    expect(pick(t.stdout.toString())).toEqual(['  #define WITH_SCTP 1', '  #define WITH_DCCP 1', '  #define WITH_VSOCK 1']);
  });
});
