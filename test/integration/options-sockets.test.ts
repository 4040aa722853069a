/**
 * Socket, TCP, listen and retry options, each shown by what the kernel or
 * the peer sees: buffer sizes and keepalive timers in `ss`, socket options
 * read back by the program the connection is handed to, a listener's backlog,
 * TIME_WAIT and reuseaddr, a reset from linger=0, refused peers in the log.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, requireOrSkip, run, skipBecause, stop, TSOCAT, tcpExchange, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';
import { blackholeListener, quietServers, sockoptProbe, ss } from '../socket-helpers.js';

const background = backgroundStarter();
const AS_ROOT = process.getuid?.() === 0;


/** A loopback server that keeps every connection open and never writes. */
const { server: testServer, keep } = quietServers();


describe('SOCKET options on an inherited descriptor (FD:n)', () => {
  // a shell pipe: a child's stdin from Node would be a socketpair
  const onPipe = (option: string) => run('sh', ['-c', 'echo data | exec "$@"', 'sh', process.execPath, TSOCAT, '-u', `FD:0,${option}`, 'STDOUT']);

  it.each([
    ['rcvbuf=1024', 'setsockopt(0, 1, 8, {1024}, 4): Socket operation on non-socket'],
    ['sndbuf=2048', 'setsockopt(0, 1, 7, {2048}, 4): Socket operation on non-socket'],
    ['keepalive', 'setsockopt(0, 1, 9, {1}, 4): Socket operation on non-socket'],
    ['so-linger=1', 'setsockopt(0, 1, 13, {1,1}): Socket operation on non-socket'],
    ['nodelay', 'setsockopt(0, 6, 1, {1}, 4): Socket operation on non-socket'],
    ['keepidle=3', 'setsockopt(0, 6, 4, {3}, 4): Socket operation on non-socket'],
    ['bind=127.0.0.1', '1 option(s) could not be used'],
    ['reuseaddr', '1 option(s) could not be used'],
    ['setsockopt-int=1:8:1024', '1 option(s) could not be used'],
    ['setsockopt=1:8:i1024', '1 option(s) could not be used'],
    ['setsockopt-bin=1:8:x00040000', '1 option(s) could not be used'],
    ['setsockopt-string=1:25:lo', '1 option(s) could not be used'],
    ['connect-timeout=1', 'applyopts(): option "connect-timeout" does not apply'],
    ['pf=ip4', 'applyopts(): option "protocol-family" not implemented'],
  ])('FD:0,%s on a pipe fails as socat does', async (option, message) => {
    const r = await onPipe(option);
    expect(r.stderr).toMatch(new RegExp(` E ${message.replace(/[()[\]{}.|]/g, '\\$&')}\n$`));
    expect(r.status).toBe(1);
    expect(r.stdout.toString()).toBe('');
  });

  it('on a socket, FD:0 sets them: the receive buffer shows in ss', async () => {
    const { port, connected } = await testServer();
    const client = connect({ port, host: '127.0.0.1' });
    await new Promise((resolve) => client.once('connect', resolve));
    // the connected socket becomes tsocat's stdin
    const child = spawn(process.execPath, [TSOCAT, '-u', 'FD:0,rcvbuf=24576', 'STDOUT'], { stdio: [client, 'pipe', 'pipe'] });
    try {
      const served = await connected;
      const clientPort = served.remotePort;
      // the kernel doubles the asked size; autotuning would leave it at its own default
      await waitFor(() => ss('tm', `sport = :${clientPort}`).join(' ').includes('rb49152'));
      served.end('through\n');
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out === 'through\n');
    } finally {
      client.destroy();
      await stop(child);
    }
  });
});

describe('reuseaddr (socat 1.8: on by default for TCP listeners)', () => {
  it('reuseaddr=0 cannot listen while the port is in TIME_WAIT; the default can', async () => {
    const port = await freePort();
    // the server ends the connection first, so its side of it waits in TIME_WAIT
    const server = background([`TCP4-LISTEN:${port},bind=127.0.0.1`, 'SYSTEM:echo hi']);
    await waitForPort(port);
    expect((await tcpExchange(port, 'x', { halfClose: false })).toString()).toBe('hi\n');
    await new Promise((resolve) => (server.exitCode !== null ? resolve(null) : server.once('exit', resolve)));
    expect(ss('tan', `state time-wait sport = :${port}`)).not.toEqual([]);

    for (const off of ['reuseaddr=0', 'so-reuseaddr=', 'reuseaddr=false']) {
      const r = await tsocat([`TCP4-LISTEN:${port},bind=127.0.0.1,${off}`, 'PIPE']);
      expect(r.stderr).toMatch(new RegExp(` E bind\\(AF=2 127\\.0\\.0\\.1:${port}\\): Address already in use\\n$`));
      expect(r.status).toBe(1);
    }
    const listening = background([`TCP4-LISTEN:${port},bind=127.0.0.1`, 'PIPE']);
    await waitForPort(port);
    expect((await tcpExchange(port, 'again\n')).toString()).toBe('again\n');
    await stop(listening);
  });
});

describe('reuseaddr on a client that binds its local port', () => {
  it('without reuseaddr the bind fails while the port is in TIME_WAIT; with it the client connects', async () => {
    const [first, second, source] = [await freePort(), await freePort(), await freePort()];
    background([`TCP4-LISTEN:${first},bind=127.0.0.1,fork`, 'PIPE']);
    background([`TCP4-LISTEN:${second},bind=127.0.0.1,fork`, 'SYSTEM:echo served']);
    await waitForPort(first);
    await waitForPort(second);
    // the client ends first, so its side waits in TIME_WAIT on the source port; the kernel lets
    // a bind share a port with it only when both sockets have SO_REUSEADDR
    expect((await tsocat(['-', `TCP4:127.0.0.1:${first},sourceport=${source},reuseaddr`], { input: '' })).status).toBe(0);
    expect(ss('tan', `state time-wait sport = :${source}`)).not.toEqual([]);
    const plain = await tsocat(['-', `TCP4:127.0.0.1:${second},sourceport=${source}`], { input: '' });
    expect(plain.stderr).toMatch(new RegExp(` E bind\\(AF=2 0\\.0\\.0\\.0:${source}\\): Address already in use\\n$`));
    expect(plain.status).toBe(1);
    const reusing = await tsocat(['-', `TCP4:127.0.0.1:${second},sourceport=${source},reuseaddr`], { input: '' });
    expect(reusing).toMatchObject({ status: 0, stdout: Buffer.from('served\n') });
  });
});

describe('range, bind, sourceport, lowport', () => {
  it('range turns a peer from outside away with a log line and lets one from inside in; the client bind address is its source', async () => {
    const port = await freePort();
    const p = background([`TCP4-LISTEN:${port},fork,range=127.0.0.2/32`, 'SYSTEM:echo from $SOCAT_PEERADDR']);
    await waitForPort(port);
    const outside = await tsocat(['-', `TCP4:127.0.0.1:${port}`], { input: '' });
    expect(outside.stdout.toString()).toBe('');
    await waitFor(() => / W refusing connection from AF=2 127\.0\.0\.1:\d+ due to range option\n/.test(p.errors()));
    const inside = await tsocat(['-', `TCP4:127.0.0.1:${port},bind=127.0.0.2`], { input: '' });
    expect(inside).toMatchObject({ status: 0, stdout: Buffer.from('from 127.0.0.2\n') });
    expect(p.errors().match(/refusing/g)).toHaveLength(1);
  });

  it('pf=ip6 makes a listener IPv6 ([::], shown by ss as *); without it, IPv4 0.0.0.0', async () => {
    const listensOn = async (option: string) => {
      const port = await freePort();
      const p = background([`TCP-LISTEN:${port}${option}`, 'PIPE']);
      await waitForPort(port);
      const [line] = ss('ltn', `sport = :${port}`);
      await stop(p);
      return line?.trim().split(/\s+/)[3]?.replace(/:\d+$/, '');
    };
    expect([await listensOn(',pf=ip6'), await listensOn('')]).toEqual(['*', '0.0.0.0']);
  });

  it('a listener refuses connect-timeout, and takes bind as a host only, as socat does', async () => {
    const timeout = await tsocat(['TCP4-LISTEN:0,connect-timeout=1', 'PIPE']);
    expect(timeout.stderr).toMatch(/ E applyopts\(\): option "connect-timeout" does not apply\n$/);
    const withPort = await tsocat(['TCP4-LISTEN:0,bind=127.0.0.1:5', 'PIPE']);
    expect(withPort.stderr).toMatch(/ E getaddrinfo\("127\.0\.0\.1:5", "NULL", \{\}\): Name or service not known\n$/);
    expect([timeout.status, withPort.status]).toEqual([1, 1]);
  });

  it('bind on a listener listens on that address only', async () => {
    const port = await freePort();
    background([`TCP4-LISTEN:${port},bind=127.0.0.3`, 'PIPE']);
    await waitForPort(port);
    expect(ss('ltn', `sport = :${port}`).join('\n')).toMatch(new RegExp(`127\\.0\\.0\\.3:${port}`));
  });

  it('a client that binds (a socket tsocat makes) reports a refused connect as refused, a name looked up (test.sh OPENSSL_CONNECT_BIND)', async () => {
    const port = await freePort();
    for (const address of [`TCP:localhost:${port},pf=ip4,bind=localhost`, `OPENSSL-CONNECT:localhost:${port},pf=ip4,bind=127.0.0.1,verify=0`]) {
      const r = await tsocat(['-', address], { input: '' });
      expect(r.stderr).toMatch(new RegExp(` E connect\\(AF=2 127\\.0\\.0\\.1:${port}\\): Connection refused\\n$`));
      expect(r.status).toBe(1);
    }
    // and served when something listens, the name looked up before the connect as above
    background([`TCP4-LISTEN:${port},bind=127.0.0.1`, 'SYSTEM:echo $SOCAT_PEERADDR']);
    await waitForPort(port);
    const served = await tsocat(['-', `TCP:localhost:${port},pf=ip4,bind=127.0.0.2`], { input: '' });
    expect(served).toMatchObject({ status: 0, stdout: Buffer.from('127.0.0.2\n') });
  });

  it('sourceport is the port the server sees the client come from', async () => {
    const [port, source] = [await freePort(), await freePort()];
    background([`TCP4-LISTEN:${port}`, 'SYSTEM:echo $SOCAT_PEERPORT']);
    await waitForPort(port);
    const r = await tsocat(['-', `TCP4:127.0.0.1:${port},sourceport=${source}`], { input: '' });
    expect(r).toMatchObject({ status: 0, stdout: Buffer.from(`${source}\n`) });
  });

  it('lowport: the client comes from a port between 640 and 1023 (binding one needs root)', async (ctx) => {
    requireOrSkip(ctx, 'root');
    const port = await freePort();
    background([`TCP4-LISTEN:${port}`, 'SYSTEM:echo $SOCAT_PEERPORT']);
    await waitForPort(port);
    const r = await tsocat(['-', `TCP4:127.0.0.1:${port},lowport`], { input: '' });
    expect(r.status).toBe(0);
    const peerPort = Number(r.stdout.toString());
    expect(peerPort).toBeGreaterThanOrEqual(640);
    expect(peerPort).toBeLessThan(1024);
  });
  if (!AS_ROOT) console.log('lowport test skipped: binding a port below 1024 needs root');
});

describe('options on the connected socket', () => {
  let dir = '';
  let cleanup = () => {};
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('so-rcvbuf, so-sndbuf and keepalive with keepidle show in ss on a client connection', async () => {
    const { port, connected } = await testServer();
    const p = background(['-u', `TCP4:127.0.0.1:${port},rcvbuf=24576,sndbuf=40960,keepalive,keepidle=5`, 'STDOUT']);
    const served = await connected;
    const clientSide = () => ss('tmo', `sport = :${served.remotePort}`).join(' ');
    // set just after connect(): wait until the last of them is in place
    await waitFor(() => /tb81920\b/.test(clientSide()) && /timer:\(keepalive/.test(clientSide()));
    const line = clientSide();
    expect(line).toMatch(/rb49152\b/);
    expect(line).toMatch(/tb81920\b/);
    // the first probe is due within keepidle=5 seconds, not in two hours ("119min"); ss shows
    // seconds, as "4.62sec" or (iproute2 6.x) "4.62ms"
    const [, seconds, unit] = /timer:\(keepalive,([\d.]+)(ms|sec|min),0\)/.exec(line) ?? [];
    expect(unit).not.toBe('min');
    expect(Number(seconds)).toBeLessThanOrEqual(5);
    await stop(p);
  });

  it('without keepalive there is no keepalive timer', async () => {
    const { port, connected } = await testServer();
    const p = background(['-u', `TCP4:127.0.0.1:${port}`, 'STDOUT']);
    const served = await connected;
    await waitFor(() => ss('tmo', `sport = :${served.remotePort}`).join(' ').includes('skmem:'));
    expect(ss('tmo', `sport = :${served.remotePort}`).join(' ')).not.toMatch(/keepalive/);
    await stop(p);
  });

  it('an accepted connection carries nodelay, keepalive, keepidle and linger, read back with getsockopt by the program it is handed to', async () => {
    const port = await freePort();
    background([`TCP4-LISTEN:${port},nodelay,keepalive,keepidle=9,linger=3`, sockoptProbe(dir)]);
    await waitForPort(port);
    const r = await tcpExchange(port, '', { halfClose: false });
    expect(r.toString().trim()).toBe('1 1 9 1,3');
  });

  it('without those options the accepted connection has the kernel defaults', async () => {
    const port = await freePort();
    background([`TCP4-LISTEN:${port}`, sockoptProbe(dir)]);
    await waitForPort(port);
    const r = await tcpExchange(port, '', { halfClose: false });
    const keepaliveTime = readFileSync('/proc/sys/net/ipv4/tcp_keepalive_time', 'utf8').trim();
    expect(r.toString().trim()).toBe(`0 0 ${keepaliveTime} 0,0`);
  });

  it('linger=0 resets the connection on close: the peer is not left in CLOSE-WAIT', async () => {
    for (const [option, leftOpen] of [['', true], [',linger=0', false]] as const) {
      const { port, connected } = await testServer();
      // -T ends the idle transfer; the server never ends its side
      const r = await tsocat(['-T', '0.2', '-u', `TCP4:127.0.0.1:${port}${option}`, 'STDOUT']);
      expect(r.status).toBe(0);
      await connected;
      expect(ss('tan', `state close-wait sport = :${port}`).length, option || 'no linger').toBe(leftOpen ? 1 : 0);
    }
  });
});

describe('listen options', () => {
  it('setsockopt-listen sets an option on the listening socket, which accepted connections inherit (SO_RCVBUF)', async () => {
    const port = await freePort();
    const p = background(['-d', '-d', `TCP4-LISTEN:${port},setsockopt-listen=1:8:i24576`, 'PIPE']);
    // set just after listen(): "listening on" is logged once it is in place
    await waitFor(() => p.errors().includes('listening on'));
    const client = connect({ port, host: '127.0.0.1' });
    keep(client);
    await new Promise((resolve) => client.once('connect', resolve));
    const accepted = () => ss('tm', `state established sport = :${port}`).join(' ');
    await waitFor(() => accepted().includes('skmem:'));
    // the kernel doubles the asked size; without the option autotuning starts at tcp_rmem's default
    expect(accepted()).toMatch(/rb49152\b/);
  });

  it('backlog is the listening socket\'s queue length, shown by ss as Send-Q', async () => {
    const port = await freePort();
    background([`TCP4-LISTEN:${port},backlog=7`, 'PIPE']);
    await waitForPort(port);
    const [listening] = ss('ltn', `sport = :${port}`);
    expect(listening?.trim().split(/\s+/)[2]).toBe('7');
  });
});


/** Runs a shell command in a new network namespace that has only loopback (needs root and unshare). */
function inLoopbackOnlyNamespace(command: string): ReturnType<typeof run> {
  return run('unshare', ['-n', 'sh', '-c', `ip link set lo up && ${command}`]);
}
const CAN_UNSHARE = AS_ROOT && spawnSync('unshare', ['-n', 'true']).status === 0;
describe('ai-addrconfig', () => {
  it('on a host with only loopback addresses, a name resolves with ai-addrconfig=0 but not with ai-addrconfig', async (ctx) => {
    if (!CAN_UNSHARE) skipBecause(ctx, 'it needs a network namespace of its own (root and unshare -n)');
    const client = (option: string) => inLoopbackOnlyNamespace(`exec "${process.execPath}" "${TSOCAT}" -u /dev/null TCP4:localhost:1,${option}`);
    const [strict, loose] = await Promise.all([client('ai-addrconfig'), client('ai-addrconfig=0')]);
    expect(strict.stderr).toMatch(/ E getaddrinfo\("localhost", "1", \{\}\): Name or service not known\n$/);
    // resolved: the connect is tried, and nothing listens in that empty namespace
    expect(loose.stderr).toMatch(/ E connect\(AF=2 127\.0\.0\.1:1\): Connection refused\n$/);
    expect([strict.status, loose.status]).toEqual([1, 1]);
  });

  it('a datagram address looks its name up the same way: UDP4-SENDTO:localhost fails with ai-addrconfig there and sends with ai-addrconfig=0', async (ctx) => {
    if (!CAN_UNSHARE) skipBecause(ctx, 'it needs a network namespace of its own (root and unshare -n)');
    const client = (option: string) => inLoopbackOnlyNamespace(`echo x | exec "${process.execPath}" "${TSOCAT}" -u - UDP4-SENDTO:localhost:1,${option}`);
    const [strict, loose] = await Promise.all([client('ai-addrconfig'), client('ai-addrconfig=0')]);
    expect(strict.stderr).toMatch(/ E getaddrinfo\("localhost", "1", \{\}\): Name or service not known\n$/);
    expect(strict.status).toBe(1);
    expect(loose.stderr).toBe('');
    expect(loose.status).toBe(0);
  });
});

describe('connect-timeout', () => {
  it('gives up on a connect that gets no answer', async () => {
    const port = await freePort();
    const close = blackholeListener(port);
    const filler = connect({ port, host: '127.0.0.1' });
    try {
      await new Promise((resolve, reject) => filler.once('connect', resolve).once('error', reject));
      const closed = await freePort();
      /** How long a run takes beyond a twin started beside it that fails at once (a refused connect): Node's start-up, which a loaded machine stretches, counts in both and cancels out. */
      const waited = async (timeout: string) => {
        const timed = async (args: string[]) => {
          const began = Date.now();
          const r = await tsocat(args, { input: '', timeoutMs: 8000 });
          return { r, ms: Date.now() - began };
        };
        const [slow, quick] = await Promise.all([timed(['-', `TCP4:127.0.0.1:${port},connect-timeout=${timeout}`]), timed(['-', `TCP4:127.0.0.1:${closed},connect-timeout=${timeout}`])]);
        expect(slow.r.stderr).toMatch(new RegExp(` E connect\\(AF=2 127\\.0\\.0\\.1:${port}\\): Connection timed out\\n$`));
        expect(slow.r.status).toBe(1);
        expect(quick.r.stderr).toMatch(/ E connect\(AF=2 127\.0\.0\.1:\d+\): Connection refused\n$/);
        return slow.ms - quick.ms;
      };
      // 0.5 s is told from 2 s both ways: never early, and well short of 2 s
      const half = await waited('0.5');
      // (the refused twin's own start-up varies by ±100 ms under load: 300 still shows the wait was not skipped)
      expect(half).toBeGreaterThanOrEqual(300);
      expect(half).toBeLessThan(1500);
      const two = await waited('2');
      // the twin's start-up swings by a few hundred ms under load (1771 ms seen with the suite and socat's test.sh beside it):
      // 1600 still tells 2 s from 1 s
      expect(two).toBeGreaterThanOrEqual(1600);
      expect(two).toBeLessThan(3500);
    } finally {
      filler.destroy();
      close();
    }
  });
});

describe('retry, forever, interval', () => {
  const refusals = (log: string) => (log.match(/ W connect\(AF=2 127\.0\.0\.1:\d+\): Connection refused\n/g) ?? []).length;

  it('retry=5 tries six times, interval apart, then fails', async () => {
    const port = await freePort();
    const started = Date.now();
    const r = await tsocat(['-', `TCP4:127.0.0.1:${port},retry=5,interval=0.05`], { input: '' });
    expect(r.status).toBe(1);
    expect(refusals(r.stderr)).toBe(5);
    expect(r.stderr).toMatch(/ E connect\(AF=2 127\.0\.0\.1:\d+\): Connection refused\n$/);
    // five waits of 0.05 s, not the default second each
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('forever keeps trying until a listener appears, then relays', async () => {
    const port = await freePort();
    const client = background(['-u', '-', `TCP4:127.0.0.1:${port},forever,interval=0.05`]);
    client.stdin?.end('late listener\n');
    await waitFor(() => refusals(client.errors()) >= 3);
    const received = await tsocat(['-u', `TCP4-LISTEN:${port},bind=127.0.0.1`, 'STDOUT']);
    expect(received.stdout.toString()).toBe('late listener\n');
    await waitFor(() => client.exitCode !== null);
    expect(client.exitCode).toBe(0);
  });
});
