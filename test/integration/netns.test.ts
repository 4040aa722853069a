/**
 * netns: a socket made, or a program started, in another network namespace
 * (/run/netns/<name>), and everything else of the relay left in tsocat's own.
 * The test makes its own namespace with ip(8) (as root) and deletes it after.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, isListening, requires, tsocat, waitFor } from '../helpers.js';

requires('root');
const start = backgroundStarter();
const NS = `tsocat-test-${process.pid}`;

/** Whether a TCP port listens inside the namespace (its own /proc/net/tcp, read from inside). */
function listeningInside(port: number): boolean {
  const table = spawnSync('ip', ['netns', 'exec', NS, 'cat', '/proc/net/tcp'], { encoding: 'utf8' }).stdout ?? '';
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return table.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex) && line.trim().split(/\s+/)[3] === '0A');
}

beforeAll(() => {
  if (process.getuid?.() !== 0) return;
  const add = spawnSync('ip', ['netns', 'add', NS], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`ip netns add ${NS}: ${add.stderr || add.error}`);
  spawnSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
});

afterAll(() => {
  if (process.getuid?.() === 0) spawnSync('ip', ['netns', 'delete', NS]);
});

describe('netns', () => {
  it('TCP-LISTEN,netns listens inside the namespace only: refused from outside, served to a TCP,netns client inside', async () => {
    const port = await freePort();
    start([`TCP-LISTEN:${port},netns=${NS},fork`, 'SYSTEM:echo inside']);
    await waitFor(() => listeningInside(port), 8000, 'the listener inside the namespace');
    expect(isListening(port)).toBe(false);
    const outside = await tsocat(['-', `TCP:127.0.0.1:${port}`]);
    expect(outside.stderr).toMatch(new RegExp(`E connect\\(AF=2 127\\.0\\.0\\.1:${port}\\): Connection refused\\n$`));
    expect(outside.status).toBe(1);
    const inside = await tsocat(['-', `TCP:127.0.0.1:${port},netns=${NS}`]);
    expect(inside.stdout.toString()).toBe('inside\n');
    expect(inside.status).toBe(0);
  });

  it('tsocat comes back: address 2 of a relay whose address 1 is in the namespace connects in tsocat\'s own', async () => {
    const hostPort = await freePort();
    const received: Buffer[] = [];
    const server: Server = createServer((s) => s.on('data', (d) => received.push(d)));
    await new Promise<void>((r) => server.listen(hostPort, '127.0.0.1', r));
    try {
      const port = await freePort();
      start([`TCP-LISTEN:${port},netns=${NS}`, `TCP:127.0.0.1:${hostPort}`]);
      await waitFor(() => listeningInside(port), 8000, 'the listener inside the namespace');
      const client = await tsocat(['-', `TCP:127.0.0.1:${port},netns=${NS}`], { input: 'through\n' });
      expect(client.status).toBe(0);
      await waitFor(() => Buffer.concat(received).toString() === 'through\n', 5000, 'the bytes at the host-side server');
    } finally {
      server.close();
    }
  });

  it('ABSTRACT-RECV,netns: the abstract name exists in the namespace only (test.sh NETNS_EXEC\'s receiver)', async () => {
    const name = `tsocat-netns-${process.pid}`;
    const receiver = start(['-u', `ABSTRACT-RECV:${name},netns=${NS}`, 'STDOUT']);
    await waitFor(() => (spawnSync('ip', ['netns', 'exec', NS, 'cat', '/proc/net/unix'], { encoding: 'utf8' }).stdout ?? '').includes(`@${name}`), 8000, 'the abstract socket inside');
    const outside = await tsocat(['-u', 'STDIO', `ABSTRACT-SENDTO:${name}`], { input: 'lost\n' });
    expect(outside.stderr).toContain(`E write(ABSTRACT-SENDTO ${name}): Connection refused`);
    expect(outside.status).toBe(1);
    const inside = await tsocat(['-u', 'STDIO', `ABSTRACT-SENDTO:${name},netns=${NS}`], { input: 'found\n' });
    expect(inside.status).toBe(0);
    await waitFor(() => receiver.output() === 'found\n', 5000, 'the message inside');
  });

  it('without --experimental netns warns as socat 1.8.1.1 does (W option "netns" is experimental), with it nothing is said', async () => {
    const warned = await tsocat(['-u', `SYSTEM:echo warned,netns=${NS}`, 'STDIO']);
    expect(warned.stdout.toString()).toBe('warned\n');
    expect(warned.stderr).toMatch(/^\S+ \S+ tsocat\[\d+\] W option "netns" is experimental\n$/);
    expect(warned.status).toBe(0);
    const quiet = await tsocat(['--experimental', '-u', `SYSTEM:echo quiet,netns=${NS}`, 'STDIO']);
    expect(quiet.stdout.toString()).toBe('quiet\n');
    expect(quiet.stderr).toBe('');
    expect(quiet.status).toBe(0);
  });

  it('EXEC/SYSTEM,netns starts the program in the namespace: it sees only that namespace\'s interfaces', async () => {
    const inside = await tsocat(['-u', `SYSTEM:cat /proc/net/dev,netns=${NS}`, 'STDIO']);
    const outside = await tsocat(['-u', 'SYSTEM:cat /proc/net/dev', 'STDIO']);
    const names = (text: string) => text.split('\n').slice(2).map((l) => l.split(':')[0]?.trim()).filter(Boolean);
    expect(names(inside.stdout.toString())).toEqual(['lo']);
    expect(names(outside.stdout.toString()).length).toBeGreaterThan(1);
    expect(inside.status).toBe(0);
  });

  it('a namespace that does not exist is socat\'s open() error line, status 1', async () => {
    const r = await tsocat(['--experimental', '-u', `SYSTEM:true,netns=${NS}-none`, 'STDIO']);
    expect(r.stderr).toMatch(new RegExp(`^\\S+ \\S+ tsocat\\[\\d+\\] E open\\(/run/netns/${NS}-none, O_RDONLY\\|O_CLOEXEC\\): No such file or directory\\n$`));
    expect(r.status).toBe(1);
    const listen = await tsocat([`TCP-LISTEN:0,netns=${NS}-none`, 'STDIO']);
    expect(listen.stderr).toContain(`E open(/run/netns/${NS}-none, O_RDONLY|O_CLOEXEC): No such file or directory`);
    expect(listen.status).toBe(1);
  });
});
