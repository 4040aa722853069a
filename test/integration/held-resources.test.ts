/**
 * A `fork` relay whose session holds something of its own (a lock file, a
 * device locked for one user, a socket file) through its close wait: a client
 * that reconnects while the previous session is still ending is served once
 * that session lets go (src/engine/held.ts), instead of failing on tsocat's
 * own previous session. Each case reconnects right after the first answer,
 * well within the default 0.5 s close wait.
 */
import { connect, createServer, type Socket } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
  // the connection's close can reach the test before the relay's log line does (two pipes)
  await waitFor(() => error.test(relay.errors()), 5000, `the refusal ${error.source}`);
  expect(relay.errors()).not.toContain('waiting for an ending session');
}

/**
 * Starts the relay on `address2` with a first client that stays connected
 * (its session running, not ending, once the relay logs `opened`): the next
 * client is refused at once with `error`.
 */
async function refusedWhileRunning(address2: string, opened: string, error: RegExp): Promise<void> {
  const port = await freePort();
  const relay = start(['-d', '-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, address2]);
  await waitForPort(port);
  const running: Socket = connect({ port, host: '127.0.0.1' });
  try {
    await waitFor(() => relay.errors().includes(opened), 5000, 'the first session');
    await refusedAtOnce(port, relay, error);
  } finally {
    running.destroy();
  }
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
    // the first session has bound its socket file once connected
    await refusedWhileRunning(`UNIX-CONNECT:${server},bind=${join(dir, 'client.sock')}`, 'successfully connected from local address', BOUND_IN_USE);
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

  /** A terminal device for the relay to open: a pseudo-terminal (of another tsocat) whose other side echoes. */
  async function echoingTerminal(dir: string): Promise<string> {
    const tty = join(dir, 'tty');
    start([`PTY,link=${tty},raw,echo=0`, 'SYSTEM:cat']);
    await waitFor(() => existsSync(tty), 5000, 'the pseudo-terminal');
    return tty;
  }

  /** How flock-ex-nb refuses a lock someone holds. */
  const FLOCK_BUSY = / E flock\(\d+, LOCK_EX\|LOCK_NB\): Resource temporarily unavailable\n/;

  it('GOPEN of a device with flock-ex-nb: the second client locks it once the first session has closed it', async () => {
    const tty = await echoingTerminal(scratch());
    // the terminal never ends: the first session holds it through its whole close wait
    await servedAfterRelease(`GOPEN:${tty},raw,echo=0,flock-ex-nb`, 'Resource temporarily unavailable', /flock "\/dev\/pts\/\d+"/);
  });

  it('OPEN of a file with flock-ex-nb: a session ending from the file side (its end of file) is waited for too', async () => {
    const file = join(scratch(), 'file');
    writeFileSync(file, '');
    const port = await freePort();
    const relay = start(['-d', '-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, `OPEN:${file},flock-ex-nb`]);
    await waitForPort(port);
    // the empty file ends at once; the first client never ends its side, so its session holds the file through the close wait
    const first = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    try {
      await new Promise<void>((resolve, reject) => {
        first.on('error', reject);
        first.on('end', resolve);
        first.resume();
      });
      // the relay may end the exchange (the file's end) before it has written the line: the file is what shows it
      await tcpExchange(port, 'second\n', { timeoutMs: 8000 });
      await waitFor(() => readFileSync(file, 'utf8') === 'second\n' || relay.errors().includes(' E '), 5000, 'the second line in the file');
      expect(readFileSync(file, 'utf8'), relay.errors()).toBe('second\n');
      expect(relay.errors()).not.toContain('Resource temporarily unavailable');
      expect(relay.errors()).toMatch(/ I flock ".*\/file": waiting for an ending session of this relay to release it\n/);
    } finally {
      first.destroy();
    }
  });

  it('GOPEN of a device with flock-ex-nb: a session still running keeps its lock, and the next open fails at once', async () => {
    const tty = await echoingTerminal(scratch());
    await refusedWhileRunning(`GOPEN:${tty},raw,echo=0,flock-ex-nb`, 'starting data transfer loop', FLOCK_BUSY);
  });

  it('OPEN with flock-ex-nb on a file another program has locked still fails at once', async () => {
    const file = join(scratch(), 'file');
    writeFileSync(file, '');
    const holder = start(['-d', '-d', '-u', 'STDIN', `OPEN:${file},flock-ex-nb`]);
    try {
      await waitFor(() => holder.errors().includes('starting data transfer loop'), 5000, 'the other lock');
      const port = await freePort();
      const relay = start(['-d', '-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, `OPEN:${file},flock-ex-nb`]);
      await waitForPort(port);
      await refusedAtOnce(port, relay, FLOCK_BUSY);
    } finally {
      holder.stdin?.end();
    }
  });
});
