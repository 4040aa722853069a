/**
 * TUN command lines through tsocat and through socat 1.8 (built with
 * WITH_TUN), each run inside a network namespace this file adds and deletes
 * (ip netns exec), so neither touches the host's interfaces: the same bad
 * values give the same error line and status, and the same TUN relay gives
 * the interface the same name, flags, address and MTU.
 */
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requires, run, SOCAT_18, socat18OrSkip, stop, TSOCAT, waitFor } from '../helpers.js';

requires('root', 'tun');
const NS = `tsocat-tuncompat-${process.pid}`;
const isRoot = process.getuid?.() === 0;

type Tool = 'tsocat' | 'socat';
const TOOLS: Tool[] = ['tsocat', 'socat'];

/** The tool's command inside the namespace. */
const inside = (tool: Tool, args: string[]) => ['netns', 'exec', NS, ...(tool === 'tsocat' ? [process.execPath, TSOCAT] : [SOCAT_18 as string]), ...args];

/** An error line without its time stamp, program name and pid. */
const lineOf = (stderr: string) => stderr.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d (tsocat|socat)\[\d+\] /gm, '');

beforeAll(() => {
  if (!isRoot) return;
  const add = spawnSync('ip', ['netns', 'add', NS], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`ip netns add ${NS}: ${add.stderr || add.error}`);
});

afterAll(() => {
  if (isRoot) spawnSync('ip', ['netns', 'delete', NS]);
});

describe('TUN compared with socat 1.8', () => {
  it.for([
    'TUN:10.255.3.1',
    'TUN:10.255.3.1/33',
    'TUN:10.255.3.1/24,tun-type=tup',
    'TUN:10.255.3.1/24,tun-device=/nonexistent/tun',
    'TUN,if-mtu=70000',
  ])('%s: the same error line and status', async (address, ctx) => {
    socat18OrSkip(ctx, 'socat 1.8 with TUN');
    const results = [];
    for (const tool of TOOLS) {
      const r = await run('ip', inside(tool, ['-u', address, '/dev/null']));
      // socat's if-mtu line names the interface index, which counts up in the namespace
      results.push({ status: r.status, stderr: lineOf(r.stderr).replace(/index=\d+/, 'index=N') });
    }
    expect(results[0]).toEqual(results[1]);
    expect(results[0]?.status).toBe(1);
  });

  it('the same TUN address makes the same interface: name, flags, address, prefix, MTU', async (ctx) => {
    socat18OrSkip(ctx, 'socat 1.8 with TUN');
    const seen = [];
    for (const tool of TOOLS) {
      const relay = spawn('ip', inside(tool, ['-u', 'TUN:10.255.4.1/26,tun-name=tsocmp0,iff-up,if-mtu=1300,iff-promisc', '/dev/null']), { stdio: 'ignore' });
      try {
        await waitFor(() => (spawnSync('ip', ['-n', NS, '-4', 'addr', 'show', 'dev', 'tsocmp0'], { encoding: 'utf8' }).stdout ?? '').includes('inet '), 8000, `${tool}'s interface`);
        const [l] = JSON.parse(spawnSync('ip', ['-n', NS, '-j', 'addr', 'show', 'dev', 'tsocmp0'], { encoding: 'utf8' }).stdout) as Array<{ flags: string[]; mtu: number; link_type: string; addr_info: Array<{ family: string; local: string; prefixlen: number }> }>;
        if (!l) throw new Error(`ip -j addr shows no ${tool} interface`);
        const v4 = l.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
        seen.push({ flags: [...l.flags].sort(), mtu: l.mtu, v4, type: l.link_type });
      } finally {
        // ip netns exec execs the tool in place: this pid is the relay's own
        await stop(relay);
      }
      await waitFor(() => spawnSync('ip', ['-n', NS, 'link', 'show', 'tsocmp0']).status !== 0, 5000, `${tool}'s interface gone`);
    }
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[0]).toMatchObject({ mtu: 1300, v4: ['10.255.4.1/26'], type: 'none' });
  });
});
