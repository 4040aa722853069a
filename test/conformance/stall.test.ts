/**
 * STALL keeps a contract of its own: where other endpoints round-trip bytes,
 * it must never deliver data or end of file and never take a write, so only
 * timeouts end a relay with it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sleep, tempDir } from '../helpers.js';
import { asEndpoint, openAddress, tsocat } from './suite.js';

describe('endpoint contract: STALL', () => {
  it('delivers neither data nor end of file, and reports backpressure on the first write', async () => {
    const ep = asEndpoint(await openAddress('STALL'));
    let events = 0;
    ep.readable?.on('data', () => events++);
    ep.readable?.on('end', () => events++);
    // full before the first write: a relay does not read for it at all
    expect(ep.writable?.writableNeedDrain).toBe(true);
    expect(ep.writable?.write('x')).toBe(false);
    let drained = false;
    ep.writable?.once('drain', () => {
      drained = true;
    });
    // an absence can only be watched for a while: a slow machine makes this weaker, never a false failure
    await sleep(300);
    expect({ events, drained }).toEqual({ events: 0, drained: false });
    await ep.close();
    expect(ep.readable?.destroyed && ep.writable?.destroyed).toBe(true);
  });

  it('-u -T 0.3 OPEN:fifo STALL reads nothing: the bytes stay for the next reader (test.sh STALL_WR)', async () => {
    const { dir, cleanup } = tempDir();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // a writer that keeps the FIFO open across both readers
    const writer = spawn('sh', ['-c', `exec 3>"${fifo}"; printf 'kept for the next reader\\n' >&3; sleep 10`], { stdio: 'ignore' });
    try {
      const stalled = await tsocat(['-u', '-T', '0.3', `OPEN:${fifo}`, 'STALL'], { timeoutMs: 5000 });
      expect(stalled.status).toBe(0);
      const next = await tsocat(['-u', '-T', '0.3', `OPEN:${fifo}`, 'STDOUT'], { timeoutMs: 5000 });
      expect(next.stdout.toString()).toBe('kept for the next reader\n');
    } finally {
      writer.kill();
      cleanup();
    }
  });

  it('-u -T 0.3 STALL CREATE:f ends on inactivity with status 0 and an empty file (test.sh STALL_RD)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = join(dir, 'f');
      const started = Date.now();
      const r = await tsocat(['-u', '-T', '0.3', 'STALL', `CREATE:${out}`], { timeoutMs: 5000 });
      expect(r.status).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(existsSync(out) && statSync(out).size).toBe(0);
    } finally {
      cleanup();
    }
  });
});
