/**
 * A `fork` relay whose session holds something of its own (a lock file, a
 * device locked for one user, a socket file) through its close wait: a client
 * that reconnects while the previous session is still ending is served once
 * that session lets go (src/engine/held.ts), instead of failing on tsocat's
 * own previous session. Each case reconnects right after the first answer,
 * well within the default 0.5 s close wait.
 */
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, tcpExchange, tempDir, waitFor, waitForPort } from '../helpers.js';

const start = backgroundStarter();
const dirs: Array<() => void> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d();
});

function scratch(): string {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  return dir;
}

/**
 * Client 1 sends a line and half-closes; the moment its echo is back (its
 * session is now ending, address 2 still open) client 2 connects and sends
 * its own line. Resolves with what each got back.
 */
function reconnectWhileEnding(port: number): Promise<{ first: string; second: string }> {
  return new Promise((resolve, reject) => {
    let first = '';
    let started = false;
    const client = connect({ port, host: '127.0.0.1' }, () => client.end('first\n'));
    client.on('error', reject);
    client.on('data', (d: Buffer) => {
      first += d.toString();
      if (started || !first.includes('first\n')) return;
      started = true;
      tcpExchange(port, 'second\n', { timeoutMs: 8000 }).then(
        (answer) => {
          client.destroy();
          resolve({ first, second: answer.toString() });
        },
        (err: Error) => {
          client.destroy();
          reject(err);
        },
      );
    });
  });
}

describe("a reconnect while the previous session still holds the relay's own resource", () => {
  it('lockfile on address 2: the second client is served once the first session has removed the lock', async () => {
    const lock = join(scratch(), 'lock');
    const port = await freePort();
    // the program outlives its input by 0.3 s, so the first session holds the lock through its close wait
    const relay = start(['-d', '-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, `SYSTEM:cat; sleep 0.3,lockfile=${lock}`]);
    await waitForPort(port);
    const { first, second } = await reconnectWhileEnding(port);
    expect(first).toBe('first\n');
    expect(second, relay.errors()).toBe('second\n');
    expect(relay.errors()).not.toContain('could not obtain lock');
    expect(relay.errors()).toMatch(/ I lock ".*\/lock": waiting for an ending session of this relay to release it\n/);
  });

  it('lockfile held by another program still fails at once', async () => {
    const lock = join(scratch(), 'lock');
    const port = await freePort();
    const relay = start(['-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, `SYSTEM:cat,lockfile=${lock}`]);
    await waitForPort(port);
    const holder = start(['-u', `STDIN,lockfile=${lock}`, 'STDOUT']);
    try {
      await waitFor(() => existsSync(lock), 5000, 'the other lock');
      const answer = await tcpExchange(port, 'refused\n', { timeoutMs: 8000 });
      expect(answer.toString()).toBe('');
      expect(relay.errors()).toMatch(/ E could not obtain lock ".*\/lock"\n/);
      expect(relay.errors()).not.toContain('waiting for an ending session');
    } finally {
      holder.stdin?.end();
    }
  });
});
