/**
 * A `fork` relay whose session holds something of its own (a lock file, a
 * device locked for one user, a socket file) through its close wait: a client
 * that reconnects while the previous session is still ending is served once
 * that session lets go (src/engine/held.ts), instead of failing on tsocat's
 * own previous session. Each case reconnects right after the first answer,
 * well within the default 0.5 s close wait.
 */
import { connect, createServer, type Socket } from 'node:net';
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

/**
 * Starts the relay on `address2` and reconnects while its first session is
 * ending: the second client is served, after the relay said it waited for
 * what `held` names, and the open never failed with `refusal`.
 */
async function servedAfterRelease(address2: string, refusal: string, held: RegExp): Promise<void> {
  const port = await freePort();
  const relay = start(['-d', '-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, address2]);
  await waitForPort(port);
  const { first, second } = await reconnectWhileEnding(port);
  expect(first).toBe('first\n');
  expect(second, relay.errors()).toBe('second\n');
  expect(relay.errors()).not.toContain(refusal);
  expect(relay.errors()).toMatch(new RegExp(` I ${held.source}: waiting for an ending session of this relay to release it\n`));
}

/** A client of `relay` gets nothing, at once: the open failed with `error`, without waiting for anything. */
async function refusedAtOnce(port: number, relay: { errors(): string }, error: RegExp): Promise<void> {
  const answer = await tcpExchange(port, 'refused\n', { timeoutMs: 8000 });
  expect(answer.toString()).toBe('');
  expect(relay.errors()).toMatch(error);
  expect(relay.errors()).not.toContain('waiting for an ending session');
}

describe("a reconnect while the previous session still holds the relay's own resource", () => {
  it('lockfile on address 2: the second client is served once the first session has removed the lock', async () => {
    const lock = join(scratch(), 'lock');
    // the program outlives its input by 0.3 s, so the first session holds the lock through its close wait
    await servedAfterRelease(`SYSTEM:cat; sleep 0.3,lockfile=${lock}`, 'could not obtain lock', /lock ".*\/lock"/);
  });

  it('lockfile held by another program still fails at once', async () => {
    const lock = join(scratch(), 'lock');
    const port = await freePort();
    const relay = start(['-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, `SYSTEM:cat,lockfile=${lock}`]);
    await waitForPort(port);
    const holder = start(['-u', `STDIN,lockfile=${lock}`, 'STDOUT']);
    try {
      await waitFor(() => existsSync(lock), 5000, 'the other lock');
      await refusedAtOnce(port, relay, / E could not obtain lock ".*\/lock"\n/);
    } finally {
      holder.stdin?.end();
    }
  });

  /** A UNIX server (another tsocat) that answers each client with its sorted input, after the client's end, and holds on 0.3 s more. */
  async function sortingServer(dir: string): Promise<string> {
    const server = join(dir, 'server.sock');
    start(['-d', '-d', `UNIX-LISTEN:${server},fork`, 'SYSTEM:sort; sleep 0.3']);
    await waitFor(() => existsSync(server), 5000, 'the UNIX server');
    return server;
  }

  /** The bind of the relay's client socket file refused. */
  const BOUND_IN_USE = / E bind\(\d+, \{AF=1 ".*\/client\.sock"\}, \d+\): Address already in use\n/;

  for (const keyword of ['UNIX-CONNECT', 'UNIX-CLIENT']) {
    it(`${keyword} with bind=: the second client binds the socket file once the first session has removed it`, async () => {
      const dir = scratch();
      const server = await sortingServer(dir);
      // the server answers only after the first session has shut its side (so that session is ending), then keeps it 0.3 s, within the close wait
      await servedAfterRelease(`${keyword}:${server},bind=${join(dir, 'client.sock')}`, 'Address already in use', /socket ".*\/client\.sock"/);
    });
  }

  it('UNIX-CONNECT with bind=: a session still running keeps its socket file, and the next bind fails at once', async () => {
    const dir = scratch();
    const server = await sortingServer(dir);
    const port = await freePort();
    const relay = start(['-d', '-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, `UNIX-CONNECT:${server},bind=${join(dir, 'client.sock')}`]);
    await waitForPort(port);
    const running: Socket = connect({ port, host: '127.0.0.1' });
    try {
      // the first session has bound its socket file and is not ending (its client has not closed)
      await waitFor(() => relay.errors().includes('successfully connected from local address'), 5000, 'the first session');
      await refusedAtOnce(port, relay, BOUND_IN_USE);
    } finally {
      running.destroy();
    }
  });

  it("UNIX-CONNECT with bind=: another program's socket file fails at once", async () => {
    const dir = scratch();
    const server = await sortingServer(dir);
    const bound = join(dir, 'client.sock');
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(bound, resolve));
    try {
      const port = await freePort();
      const relay = start(['-d', '-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, `UNIX-CONNECT:${server},bind=${bound}`]);
      await waitForPort(port);
      await refusedAtOnce(port, relay, BOUND_IN_USE);
    } finally {
      other.close();
    }
  });
});
