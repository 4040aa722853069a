/**
 * TUN keeps the datagram contract: each packet the system sends through the
 * interface is one message, whole, never joined with the next. The keyword is
 * opened here through the command (the coverage check counts what suite.ts's
 * tsocat() opened), in a network namespace this file adds and deletes; the
 * end-to-end cases are in test/integration/tun.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requires, waitFor } from '../helpers.js';
import { tsocat } from './suite.js';

requires('root', 'tun');
const NS = `tsocat-tunconf-${process.pid}`;
const isRoot = process.getuid?.() === 0;

beforeAll(() => {
  if (!isRoot) return;
  const add = spawnSync('ip', ['netns', 'add', NS], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`ip netns add ${NS}: ${add.stderr || add.error}`);
  // no IPv6: the interface carries only the packets sent here
  spawnSync('ip', ['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
});

afterAll(() => {
  if (isRoot) spawnSync('ip', ['netns', 'delete', NS]);
});

const hasAddress = (name: string) => (spawnSync('ip', ['-n', NS, '-4', 'addr', 'show', 'dev', name], { encoding: 'utf8' }).stdout ?? '').includes('inet ');

describe('endpoint contract: TUN', () => {
  it('two UDP packets into the interface come out as two messages, each one whole IPv4 packet', async () => {
    const got: Buffer[] = [];
    const receiver: Socket = createSocket('udp4');
    receiver.on('message', (m) => got.push(m));
    await new Promise<void>((r) => receiver.bind(0, '127.0.0.1', r));
    try {
      const port = receiver.address().port;
      // -T 2: the relay ends by itself, status 0, once the packets have passed
      const relay = tsocat(['--experimental', '-u', '-T', '2', `TUN:10.255.9.1/24,iff-up,iff-no-pi,tun-name=tsoconf0,netns=${NS}`, `UDP4-SENDTO:127.0.0.1:${port}`]);
      await waitFor(() => hasAddress('tsoconf0'), 8000, 'the interface in the namespace');
      const script = "const s=require('node:dgram').createSocket('udp4');s.send('first',9,'10.255.9.2',()=>s.send('second, longer',9,'10.255.9.2',()=>s.close()));";
      expect(spawnSync('ip', ['netns', 'exec', NS, process.execPath, '-e', script]).status).toBe(0);
      const r = await relay;
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(got.map((m) => [m[0], m.readUInt16BE(2) === m.length, m.subarray(28).toString()])).toEqual([
        [0x45, true, 'first'],
        [0x45, true, 'second, longer'],
      ]);
    } finally {
      receiver.close();
    }
  });
});
