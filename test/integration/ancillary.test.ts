/**
 * What the ancillary-data options and ip-mtu-discover do, end to end:
 * ip-recverr has an ICMP report about a reply sent logged (and the receiving
 * address reads on), mtudiscover decides whether a packet over the path MTU
 * is refused or fragmented, and a RECVFROM half of a dual address (the man
 * page's `UDP4-RECVFROM:9999,…!!-`) gives its packet's variables to the
 * program. Log lines and variables are compared with socat in
 * test/compat/ancillary.test.ts. Last, test.sh's IOCTL_VOID: TIOCEXCL
 * through ioctl-void keeps a second opener off a pty.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, run, skipBecause, stop, TSOCAT, waitFor } from '../helpers.js';

const background = backgroundStarter();

/** Sends one packet from a socket of its own and closes it: a reply to it meets a closed port (ICMP port unreachable). */
async function sendAndClose(port: number, data: string): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.send(data, port, '127.0.0.1', () => resolve()));
  await new Promise<void>((resolve) => s.close(() => resolve()));
}

/** Sends one packet and waits for the answer (at most 5 s: a lost answer fails with its own message, not the test's timeout). */
async function ask(port: number, data: string): Promise<string> {
  const s = createSocket('udp4');
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = new Promise<string>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(data)} within 5 s`)), 5000);
      s.once('message', (m) => resolve(m.toString()));
    });
    await new Promise<void>((resolve) => s.send(data, port, '127.0.0.1', () => resolve()));
    return await answer;
  } finally {
    clearTimeout(timer);
    s.close();
  }
}

describe('ip-recverr', () => {
  it('UDP4-RECVFROM,ip-recverr,fork logs the ICMP report about a reply to a closed port, as socat words it, and serves the next packet', async () => {
    const port = await freePort();
    const p = background(['-d', '-d', '-d', `UDP4-RECVFROM:${port},ip-recverr,fork`, 'SYSTEM:read l; echo got $l']);
    await waitFor(() => p.errors().includes(' N receiving on '), 10000, 'receiving');
    await sendAndClose(port, 'gone\n');
    // the notice and its info lines are separate writes: wait for all three, not for the first alone
    const lines = [' N received ICMP from 127.0.0.1, type 3, code 3, info 0, data 0, resulting in errno 111\n', ' I ancillary message: IP_RECVERR: errno=111\n', ' I ancillary message: IP_RECVERR: origin=2\n'];
    await waitFor(() => lines.every((l) => p.errors().includes(l)), 10000, () => `the ICMP report logged (missing: ${lines.filter((l) => !p.errors().includes(l)).join('')})`);
    // the report is no read error: the next packet is served
    expect(await ask(port, 'again\n')).toBe('got again\n');
    expect(p.errors()).not.toMatch(/ E /);
  });
});

describe('ip-mtu-discover (mtudiscover)', () => {
  const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'true']).status === 0;
  /** 2000 bytes as one packet through a loopback whose MTU is 1280, in a network namespace of the test's own. */
  const bigPacket = (option: string, to = '127.0.0.1') =>
    run('unshare', ['-n', 'sh', '-c', `ip link set lo mtu 1280 up && head -c 2000 /dev/zero | exec "${process.execPath}" "${TSOCAT}" -b 3000 -u - UDP-SENDTO:${to}:9,${option}`]);

  it('mtudiscover=2 refuses a packet over the MTU (EMSGSIZE), mtudiscover=0 lets the kernel fragment it', async (ctx) => {
    if (!canUnshare) skipBecause(ctx, 'it needs a network namespace of its own (root and unshare -n) to set loopback\'s MTU');
    const [always, never] = await Promise.all([bigPacket('mtudiscover=2'), bigPacket('ip-mtu-discover=0')]);
    expect(always.stderr).toMatch(/ E write\(UDP-SENDTO AF=(2 127\.0\.0\.1|10 \[[0:]+1\]):9\): Message too long\n$/);
    expect(always.status).toBe(1);
    expect(never.stderr).toBe('');
    expect(never.status).toBe(0);
  });

  it('ipv6-mtu-discover (mtudiscover6) does the same on IPv6, as socat 1.8 (1.7.4 does not know it)', async (ctx) => {
    if (!canUnshare) skipBecause(ctx, 'it needs a network namespace of its own (root and unshare -n) to set loopback\'s MTU');
    const [always, never] = await Promise.all([bigPacket('mtudiscover6=2', '[::1]'), bigPacket('ipv6-mtu-discover=0', '[::1]')]);
    expect(always.stderr).toMatch(/ E write\(UDP-SENDTO AF=(2 127\.0\.0\.1|10 \[[0:]+1\]):9\): Message too long\n$/);
    expect(always.status).toBe(1);
    expect(never.stderr).toBe('');
    expect(never.status).toBe(0);
  });
});

describe('a RECVFROM half of a dual address', () => {
  it('UDP4-RECVFROM:<port>,ip-recvttl!!- takes its first packet and gives the program SOCAT_IP_TTL and SOCAT_PEERADDR', async () => {
    const port = await freePort();
    const p = background(['-d', '-d', `UDP4-RECVFROM:${port},ip-recvttl!!-`, 'SYSTEM:read l; echo "$l $SOCAT_IP_TTL $SOCAT_PEERADDR"']);
    await waitFor(() => p.errors().includes(' N receiving on '), 10000, 'receiving');
    await sendAndClose(port, 'hello\n');
    await waitFor(() => p.output().includes('\n'), 10000, 'the program\'s line');
    expect(p.output()).toBe('hello 64 127.0.0.1\n');
  });
});

describe('ioctl-void on a terminal (test.sh IOCTL_VOID)', () => {
  it('FILE:<pty>,ioctl-void=0x540c (TIOCEXCL): a second open of the pty fails as socat says it, "Device or resource busy" (as user nobody: root may open it anyway)', async (ctx) => {
    const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
    if (process.getuid?.() !== 0 || spawnSync(asNobody[0] as string, [...asNobody.slice(1), 'true']).status !== 0) skipBecause(ctx, 'it needs root and setpriv to run the processes as nobody (TIOCEXCL does not hold against root)');
    const dir = mkdtempSync(join(tmpdir(), 'tsocat-excl-'));
    chmodSync(dir, 0o777);
    const link = join(dir, 'pty');
    try {
      const node = [process.execPath, TSOCAT];
      const provider = spawn(asNobody[0] as string, [...asNobody.slice(1), ...node, `PTY,link=${link},mode=666`, 'PIPE'], { stdio: 'ignore' });
      let holder: ReturnType<typeof spawn> | undefined;
      let holderLog = '';
      try {
        // the holder opens the link only once the provider has made it (started together, it could come first)
        await waitFor(() => existsSync(link), 10000, 'the pty link');
        holder = spawn(asNobody[0] as string, [...asNobody.slice(1), ...node, '-d', '-d', '-', `FILE:${link},ioctl-void=0x540c,raw,echo=0`], { stdio: ['pipe', 'ignore', 'pipe'] });
        holder.stderr?.on('data', (d: Buffer) => {
          holderLog += d.toString();
        });
        holder.stdin?.write('hello\n');
        await waitFor(() => holderLog.includes(' N starting data transfer loop '), 10000, 'the exclusive opener under way');
        const second = await run(asNobody[0] as string, [...asNobody.slice(1), ...node, '-', `FILE:${link},raw,echo=0`], { input: 'x\n' });
        expect(second.stderr).toMatch(new RegExp(` E open\\("${link}", 02, 0666\\): Device or resource busy\\n$`));
        expect(second.status).toBe(1);
      } finally {
        for (const p of [holder, provider]) if (p) await stop(p);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
