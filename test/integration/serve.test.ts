/**
 * `tsocat serve relays.yaml` (issue 21): twenty relays of every kind in one
 * process, each carrying bytes; a SIGHUP reload that adds two, removes two
 * and changes one while every other relay's open session keeps moving bytes,
 * none lost; `--check` placing each error on its line; systemd's READY=1 and
 * RELOADING=1 through a datagram socket the test owns.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { unixSockaddr } from '../../src/engine/sockets/sockaddr.js';
import { AF_UNIX, bindSocket, closeDescriptor, openSocket, receive, SOCK_DGRAM } from '../../src/sys/sockets.js';
import { freePort, isListening, isUnixListening, requireOrSkip, startTsocat, stop, tcpExchange, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';
import { echoingPty } from '../pty-helpers.js';
import { echoServer } from '../socket-helpers.js';
import { makeCerts } from '../tls-peers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One open session through a relay: what the test sent and what came back. */
interface Session {
  name: string;
  send(text: string): void;
  sent: number;
  received: () => number;
  closed: () => boolean;
  close(): void;
}

/** A session over `write`, counting what was sent; `seen` is kept up to date by the caller. */
function session(name: string, write: (text: string) => void, seen: { received: number; closed: boolean }, close: () => void): Session {
  const s: Session = {
    name,
    sent: 0,
    send(text) {
      s.sent += Buffer.byteLength(text);
      write(text);
    },
    received: () => seen.received,
    closed: () => seen.closed,
    close,
  };
  return s;
}

function streamSession(name: string, socket: Duplex): Session {
  const seen = { received: 0, closed: false };
  socket.on('data', (d: Buffer) => {
    seen.received += d.length;
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    seen.closed = true;
  });
  return session(name, (text) => socket.write(text), seen, () => socket.destroy());
}

function udpSession(name: string, port: number): Promise<Session> {
  const socket: UdpSocket = createSocket('udp4');
  const seen = { received: 0, closed: false };
  socket.on('message', (m) => {
    seen.received += m.length;
  });
  return new Promise((resolve) => socket.connect(port, '127.0.0.1', () => resolve(session(name, (text) => socket.send(text), seen, () => socket.close()))));
}

function yamlOf(relays: Record<string, { a1: string; a2: string; flags?: string; enabled?: boolean }>): string {
  let out = 'relays:\n';
  for (const [name, r] of Object.entries(relays)) {
    out += `  ${name}:\n    address1: "${r.a1}"\n    address2: "${r.a2}"\n`;
    if (r.flags) out += `    flags: "${r.flags}"\n`;
    if (r.enabled === false) out += '    enabled: false\n';
  }
  return out;
}

/** Waits until every session got back all it sent. */
/** An abstract socket's name (padded with NULs, shown as @) is in the kernel's table with the listening flag. */
function abstractListening(name: string): boolean {
  return readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .some((line) => {
      const f = line.trim().split(/\s+/);
      return ((f[7] ?? '') === `@${name}` || (f[7] ?? '').startsWith(`@${name}@`)) && (Number.parseInt(f[3] ?? '0', 16) & 0x10000) !== 0;
    });
}

async function allEchoed(sessions: readonly Session[], ms = 10000): Promise<void> {
  await waitFor(() => sessions.every((s) => s.received() === s.sent), ms, `echo of ${sessions.filter((s) => s.received() !== s.sent).map((s) => `${s.name} (${s.received()}/${s.sent})`).join(', ')}`);
}

describe('tsocat serve relays.yaml', () => {
  it('serves 20 relays (TCP, UNIX, ABSTRACT, UDP, EXEC, SERIAL on a pty, OPENSSL) in one process; a reload adding 2, removing 2 and changing 1 leaves the 17 others\' open sessions moving bytes, none lost', async (ctx) => {
    requireOrSkip(ctx, 'pyserial', 'openssl');
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const echo = await echoServer();
    cleanups.push(echo.close);
    const pty = await echoingPty();
    cleanups.push(() => pty.child.kill());
    const certs = makeCerts(dir);
    const target = `TCP:127.0.0.1:${echo.port}`;
    type Def = { a1: string; a2: string; flags?: string; enabled?: boolean; client: 'tcp' | 'unix' | 'abstract' | 'udp' | 'tls'; at: number | string };
    const defs: Record<string, Def> = {};
    for (let i = 1; i <= 10; i++) {
      const port = await freePort();
      defs[`tcp${String(i).padStart(2, '0')}`] = { a1: `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, a2: target, client: 'tcp', at: port };
    }
    for (let i = 1; i <= 2; i++) {
      const path = join(dir, `u${i}.sock`);
      defs[`unix0${i}`] = { a1: `UNIX-LISTEN:${path},fork`, a2: target, client: 'unix', at: path };
    }
    const abstractName = `tsocat-serve-test-${process.pid}`;
    // the test's Node client names an abstract socket as Node 20 does it (the whole padded sockaddr, matching
    // unix-tightsocklen=0) or as Node 22 and later do (the name's own length, tsocat's default)
    const padded = Number(process.versions.node.split('.')[0]) < 22 ? ',unix-tightsocklen=0' : '';
    defs.abstract01 = { a1: `ABSTRACT-LISTEN:${abstractName},fork${padded}`, a2: target, client: 'abstract', at: abstractName };
    for (let i = 1; i <= 2; i++) {
      const port = await freePort();
      defs[`udp0${i}`] = { a1: `UDP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, a2: 'EXEC:cat', client: 'udp', at: port };
    }
    for (let i = 1; i <= 2; i++) {
      const port = await freePort();
      defs[`exec0${i}`] = { a1: `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, a2: 'EXEC:cat', flags: '-t 2', client: 'tcp', at: port };
    }
    const serialPort = await freePort();
    defs.serial01 = { a1: `TCP-LISTEN:${serialPort},bind=127.0.0.1,fork,reuseaddr`, a2: `SERIAL:${pty.device},raw,echo=0`, client: 'tcp', at: serialPort };
    for (let i = 1; i <= 2; i++) {
      const port = await freePort();
      defs[`tls0${i}`] = { a1: `OPENSSL-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr,cert=${certs.server},key=${certs.serverKey},verify=0`, a2: target, client: 'tls', at: port };
    }
    expect(Object.keys(defs)).toHaveLength(20);
    // one disabled relay: in the file, never started
    const offPort = await freePort();
    const file = join(dir, 'relays.yaml');
    writeFileSync(file, yamlOf({ ...defs, off: { a1: `TCP-LISTEN:${offPort},bind=127.0.0.1`, a2: target, enabled: false } }));

    const server = startTsocat(['serve', file]);
    cleanups.push(() => stop(server));
    await waitFor(() => /serving 20 relays/.test(server.errors()), 15000, 'the "serving 20 relays" line');
    for (const d of Object.values(defs)) {
      if (d.client === 'unix') await waitFor(() => isUnixListening(d.at as string), 5000, `${d.at} listening`);
      // listening, not only bound (the name appears a moment before listen(): a connect then is refused)
      else if (d.client === 'abstract') await waitFor(() => abstractListening(d.at as string), 5000, `@${d.at} listening`);
      else if (d.client !== 'udp') await waitForPort(d.at as number);
    }
    expect(isListening(offPort)).toBe(false);

    const open = async (name: string, d: Def): Promise<Session> => {
      if (d.client === 'udp') return udpSession(name, d.at as number);
      const socket: Duplex =
        d.client === 'tls'
          ? tlsConnect({ host: '127.0.0.1', port: d.at as number, ca: readFileSync(certs.ca), servername: 'localhost' })
          : d.client === 'tcp'
            ? netConnect(d.at as number, '127.0.0.1')
            : netConnect({ path: d.client === 'abstract' ? `\0${d.at}` : (d.at as string) });
      await new Promise<void>((resolve, reject) => {
        socket.once(d.client === 'tls' ? 'secureConnect' : 'connect', () => resolve());
        socket.once('error', reject);
      });
      return streamSession(name, socket);
    };
    const sessions = new Map<string, Session>();
    for (const [name, d] of Object.entries(defs)) sessions.set(name, await open(name, d));
    cleanups.push(() => {
      for (const s of sessions.values()) s.close();
    });
    // each relay works: every session's first line comes back
    for (const s of sessions.values()) s.send(`${s.name} hello\n`);
    await allEchoed([...sessions.values()]);

    // bytes flow through every session before, during and after the reload
    let round = 0;
    const removed = ['tcp09', 'tcp10'];
    const changed = 'tcp08';
    const untouched = [...sessions.values()].filter((s) => !removed.includes(s.name) && s.name !== changed);
    expect(untouched).toHaveLength(17);
    const writer = setInterval(() => {
      round++;
      for (const s of untouched) s.send(`${s.name} ${round} ${'x'.repeat(200)}\n`);
    }, 20);
    cleanups.push(() => clearInterval(writer));
    await waitFor(() => round >= 10, 5000, '10 rounds before the reload');

    const added: Record<string, Def> = {};
    for (const name of ['tcp21', 'tcp22']) {
      const port = await freePort();
      added[name] = { a1: `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, a2: target, client: 'tcp', at: port };
    }
    const next: Record<string, Def> = { ...defs, ...added, [changed]: { ...(defs[changed] as Def), flags: '-T 600' } };
    for (const name of removed) delete next[name];
    writeFileSync(file, yamlOf(next));
    const roundAtReload = round;
    server.kill('SIGHUP');
    await waitFor(() => /reload: /.test(server.errors()), 10000, 'the reload line');
    await waitFor(() => round >= roundAtReload + 10, 5000, '10 rounds after the reload');
    clearInterval(writer);
    await allEchoed(untouched).catch(() => {});
    expect(untouched.filter((s) => s.closed()).map((s) => s.name)).toEqual([]);
    // every byte sent through the 17 sessions, before and after the reload, came back: none dropped
    for (const s of untouched) expect(s.received(), s.name).toBe(s.sent);
    expect(server.errors()).toMatch(/N reload: 2 added, 2 removed, 1 changed, 17 unchanged/);

    // the removed relays' sessions ended and their ports are closed; the changed one's old session ended
    await waitFor(
      () => [...removed, changed].every((n) => sessions.get(n)?.closed()),
      5000,
      () => `the stopped relays' sessions to end (still open: ${[...removed, changed].filter((n) => !sessions.get(n)?.closed()).join(', ')}; tsocat said: ${server.errors().split('\n').filter((l) => /tcp0[89]|tcp10|stopp/.test(l)).slice(-12).join(' | ')})`,
    );
    for (const name of removed) expect(isListening(defs[name]?.at as number), name).toBe(false);
    // the added relays and the changed one serve new sessions
    for (const name of [...Object.keys(added), changed]) {
      const d = next[name] as Def;
      await waitForPort(d.at as number);
      const s = await open(name, d);
      cleanups.push(() => s.close());
      s.send(`${name} after reload\n`);
      await allEchoed([s]);
    }
  }, 60000);

  it('a relay a reload removes stops listening at once; its open session goes on relaying and ends within its -t (2 s)', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const echo = await echoServer();
    cleanups.push(echo.close);
    const [gonePort, stayPort] = [await freePort(), await freePort()];
    const file = join(dir, 'relays.yaml');
    const relay = (port: number, flags: string) => ({ a1: `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, a2: `TCP:127.0.0.1:${echo.port}`, flags });
    writeFileSync(file, yamlOf({ gone: relay(gonePort, '-t 2'), stay: relay(stayPort, '-t 2') }));
    const server = startTsocat(['serve', file]);
    cleanups.push(() => stop(server));
    await waitForPort(gonePort);
    const socket = netConnect(gonePort, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const s = streamSession('gone', socket);
    cleanups.push(() => s.close());
    s.send('before\n');
    await allEchoed([s]);

    writeFileSync(file, yamlOf({ stay: relay(stayPort, '-t 2') }));
    // the -t wait starts after the signal: timed from it, the session can end no sooner than 2 s
    const reloaded = Date.now();
    server.kill('SIGHUP');
    await waitFor(() => /reload: 0 added, 1 removed/.test(server.errors()), 5000, 'the reload line');
    await waitFor(() => !isListening(gonePort), 1000, 'the removed relay to stop listening');
    s.send('during -t\n');
    await allEchoed([s]);
    expect(s.closed()).toBe(false);
    await waitFor(() => s.closed(), 5000, 'the session to end');
    const ended = Date.now() - reloaded;
    expect(ended).toBeGreaterThanOrEqual(1950);
    expect(ended).toBeLessThan(4500);
    expect(isListening(stayPort)).toBe(true);
  });

  it('--watch reloads on a change of the file (an editor\'s write-and-rename too); a broken edit keeps the running relays serving and logs its errors with file:line', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const [onePort, twoPort, threePort] = [await freePort(), await freePort(), await freePort()];
    const file = join(dir, 'relays.yaml');
    const relay = (port: number) => ({ a1: `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, a2: 'EXEC:cat' });
    writeFileSync(file, yamlOf({ one: relay(onePort) }));
    const server = startTsocat(['serve', '--watch', file]);
    cleanups.push(() => stop(server));
    await waitForPort(onePort);
    await waitFor(() => /watching /.test(server.errors()), 5000, 'the watch line');
    const one = netConnect(onePort, '127.0.0.1');
    await new Promise<void>((r) => one.once('connect', () => r()));
    const s = streamSession('one', one);
    cleanups.push(() => s.close());
    s.send('before\n');
    await allEchoed([s]);

    // an edit in place: one reload, the new relay serves, the old session is untouched
    writeFileSync(file, yamlOf({ one: relay(onePort), two: relay(twoPort) }));
    await waitFor(() => /reload: 1 added, 0 removed, 0 changed, 1 unchanged/.test(server.errors()), 5000, `the reload line (tsocat said: ${server.errors()})`);
    expect(server.errors()).toContain(`N reloading on a change of "${file}"`);
    expect((await tcpExchange(twoPort, 'two\n')).toString()).toBe('two\n');
    s.send('after\n');
    await allEchoed([s]);

    // a broken edit, saved as editors do (a new file renamed over the old): logged with file:line, nothing changes
    const broken = `${yamlOf({ one: relay(onePort), two: relay(twoPort) })}  three:\n    address1: "TCP-LISTEN:${threePort},bind=127.0.0.1,frok"\n    address2: EXEC:cat\n`;
    writeFileSync(join(dir, '.relays.yaml.swp'), broken);
    renameSync(join(dir, '.relays.yaml.swp'), file);
    await waitFor(() => /reload: .* has 1 error/.test(server.errors()), 5000, `the refused reload (tsocat said: ${server.errors()})`);
    expect(server.errors()).toContain(`E ${file}:9: relay "three": address1: parseopts_table(): unknown option "frok"\n`);
    expect(server.errors()).toContain(`E reload: "${file}" has 1 error(s); every relay runs on as before`);
    expect(isListening(threePort)).toBe(false);
    expect((await tcpExchange(twoPort, 'still\n')).toString()).toBe('still\n');
    s.send('still\n');
    await allEchoed([s]);
    // a save that leaves the text as it was reloads nothing; only one reload line so far
    writeFileSync(file, broken);
    await new Promise((r) => setTimeout(r, 800));
    expect(server.errors().match(/N reloading on a change/g)?.length).toBe(2);
  });

  it('--log-file sends every line, serve\'s and the relays\', to the file instead of stderr', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const port = await freePort();
    const file = join(dir, 'relays.yaml');
    const logFile = join(dir, 'serve.log');
    writeFileSync(file, yamlOf({ one: { a1: `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, a2: 'EXEC:cat', flags: '-d -d' } }));
    const server = startTsocat(['serve', '--log-file', logFile, file]);
    cleanups.push(() => stop(server));
    await waitForPort(port);
    await waitFor(() => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('serving 1 relays'), 5000, 'the log file');
    expect(readFileSync(logFile, 'utf8')).toMatch(/ N \[one\] listening on AF=2 127\.0\.0\.1:\d+\n/);
    expect(await stop(server)).toBe(0);
    expect(server.errors()).toBe('');
  });

  it('--check reports each error as file:line: relay "name": message, opens nothing, and exits 1', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const port = await freePort();
    const file = join(dir, 'relays.yaml');
    writeFileSync(
      file,
      [
        'relays:',
        '  good:',
        `    address1: TCP-LISTEN:${port},bind=127.0.0.1,fork`,
        '    address2: EXEC:cat',
        '  typo:',
        `    address1: TCP-LISTEN:${port},bind=127.0.0.1,frok`,
        '    address2: EXEC:cat',
        '  badflag:',
        '    address1: STDIO',
        '    address2: EXEC:cat',
        '    flags: -t soon',
        '',
      ].join('\n'),
    );
    const r = await tsocat(['serve', '--check', file]);
    const lines = r.stderr.trim().split('\n').map((l) => l.replace(/^\S+ \S+ tsocat\[\d+\] /, ''));
    expect(lines).toEqual([
      `E ${file}:6: relay "typo": address1: parseopts_table(): unknown option "frok"`,
      `E ${file}:11: relay "badflag": flags: parseopts(): missing numerical value of option "-t"`,
    ]);
    expect(r.status).toBe(1);
    expect(isListening(port)).toBe(false);
  });

  it('refuses what it cannot use in one socat-style line and exit status 1: an unknown flag, a missing file, a file with an error', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'relays:\n  a:\n    address1: TCP-LISTEN:1234,fork\n    address2: NOSUCH:1\n');
    const strip = (stderr: string) => stderr.replace(/^\S+ \S+ tsocat\[\d+\] /gm, '');
    const cases: Array<[string[], string]> = [
      [['serve', '--bogus', bad], 'E serve: Unknown argument: bogus\n'],
      [['serve', '--check', '--watch', bad], 'E serve: --check and --watch exclude each other (--check opens nothing and exits)\n'],
      [['serve'], 'E serve: exactly one service file required (there are 0); use "tsocat serve --help" for help\n'],
      [['serve', join(dir, 'none.yaml')], `E serve: cannot read "${join(dir, 'none.yaml')}": No such file or directory\n`],
      [['serve', bad], `E ${bad}:4: relay "a": address2: unknown device/address "NOSUCH"\nE serve: "${bad}" has 1 error(s); nothing started\n`],
    ];
    for (const [args, expected] of cases) {
      const r = await tsocat(args);
      expect(strip(r.stderr), args.join(' ')).toBe(expected);
      expect(r.status).toBe(1);
    }
  });

  it('--check of a valid file says so on stdout and exits 0', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, 'relays.yaml');
    writeFileSync(file, 'relays:\n  a:\n    address1: TCP-LISTEN:1234,fork\n    address2: EXEC:cat\n  b:\n    address1: UDP-LISTEN:1235\n    address2: STDOUT\n    flags: [-u, -d]\n    enabled: false\n');
    const r = await tsocat(['serve', '--check', file]);
    expect(r.stdout.toString()).toBe(`${file}: 2 relays, 1 enabled, no errors\n`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('with NOTIFY_SOCKET, tells systemd READY=1 once serving, then RELOADING=1 and READY=1 around a SIGHUP reload', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const notifyPath = join(dir, 'notify.sock');
    const fd = openSocket(AF_UNIX, SOCK_DGRAM, 0);
    cleanups.push(() => closeDescriptor(fd));
    bindSocket(fd, unixSockaddr(notifyPath), notifyPath);
    const notes: string[] = [];
    const buf = Buffer.alloc(4096);
    const poll = setInterval(() => {
      for (let got = receive(fd, buf); got; got = receive(fd, buf)) notes.push(buf.subarray(0, got.length).toString());
    }, 10);
    cleanups.push(() => clearInterval(poll));
    const port = await freePort();
    const file = join(dir, 'relays.yaml');
    const envPort = await freePort();
    writeFileSync(
      file,
      yamlOf({
        one: { a1: `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, a2: 'EXEC:cat' },
        env: { a1: `TCP-LISTEN:${envPort},bind=127.0.0.1,fork,reuseaddr`, a2: "SYSTEM:echo notify=[$NOTIFY_SOCKET]" },
      }),
    );
    const server = startTsocat(['serve', file], { env: { ...process.env, NOTIFY_SOCKET: notifyPath } });
    cleanups.push(() => stop(server));
    await waitFor(() => notes.length >= 1, 10000, 'READY=1');
    expect(notes[0]?.split('\n')[0]).toBe('READY=1');
    // READY=1 comes once every relay's address 1 is open: the ports listen by then
    expect(isListening(port)).toBe(true);
    expect(isListening(envPort)).toBe(true);
    const before = process.hrtime.bigint() / 1000n;
    server.kill('SIGHUP');
    await waitFor(() => notes.length >= 3, 10000, 'RELOADING=1 and READY=1');
    const [reloading, ready] = notes.slice(1, 3).map((n) => n.split('\n')) as [string[], string[]];
    expect(reloading[0]).toBe('RELOADING=1');
    const usec = BigInt((reloading[1] ?? '').replace(/^MONOTONIC_USEC=/, ''));
    expect(usec >= before && usec <= process.hrtime.bigint() / 1000n).toBe(true);
    expect(ready[0]).toBe('READY=1');
    // a relay's program does not inherit the service manager's socket
    expect((await tcpExchange(envPort, '')).toString()).toBe('notify=[]\n');
    expect(await stop(server)).toBe(0);
    await waitFor(() => notes.length >= 4, 5000, 'STOPPING=1');
    expect(notes[3]).toBe('STOPPING=1');
  });
});
