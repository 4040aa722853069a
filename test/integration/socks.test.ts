/**
 * SOCKS4, SOCKS4A and SOCKS5 through real SOCKS servers started by each test on
 * loopback: Debian's dante-server (danted: SOCKS4 and SOCKS5, BIND), microsocks
 * (SOCKS5 with username/password) and, for SOCKS4A (which dante does not
 * speak), a server built on Perl's IO::Socket::Socks. Some of them close the
 * tunnel on the client's half-close, so a test keeps tsocat's input open
 * (endInputAfter) until the echo it expects is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, requireOrSkip, tcpExchange, tempDir, tsocat, waitFor } from '../helpers.js';
import { danteCommand, echoServers, peerStarter } from '../tls-peers.js';

const echoServer = echoServers();
const background = backgroundStarter();
const startPeer = peerStarter();
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

const E_LINES = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d tsocat\[\d+\] E .*$/gm;

async function dante() {
  const port = await freePort();
  const [cmd, args] = danteCommand(tmp.dir, port);
  await startPeer(cmd, args, port);
  return port;
}

async function microsocks(user: string, password: string) {
  const port = await freePort();
  await startPeer('microsocks', ['-i', '127.0.0.1', '-p', String(port), '-u', user, '-P', password], port);
  return port;
}

/** A SOCKS4/4A server from IO::Socket::Socks that logs each request's host as it arrived, and relays. */
const PERL_SOCKS4A = String.raw`
use strict; use IO::Socket::Socks qw(:constants); use IO::Socket::INET; use IO::Select;
$| = 1; $SIG{CHLD} = 'IGNORE';
my $srv = IO::Socket::Socks->new(SocksVersion => 4, SocksResolve => 1, ProxyAddr => '127.0.0.1', ProxyPort => $ARGV[0], Listen => 5, ReuseAddr => 1) or die "$IO::Socket::Socks::SOCKS_ERROR\n";
while (1) {
  my $c = $srv->accept() or next;
  if (fork) { close $c; next }
  my ($cmd, $host, $port) = @{$c->command()};
  print STDERR "request for $host:$port\n";
  my $d = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port) or do { $c->command_reply(REQUEST_FAILED, $host, $port); exit };
  $c->command_reply(REQUEST_GRANTED, $d->sockhost, $d->sockport);
  my $sel = IO::Select->new($c, $d); my %open = ($c => 1, $d => 1);
  while (%open) {
    for my $r ($sel->can_read) {
      my $w = $r == $c ? $d : $c; my $n = sysread($r, my $buf, 65536);
      if ($n) { syswrite($w, $buf) } else { $sel->remove($r); delete $open{$r}; shutdown($w, 1) }
    }
  }
  exit;
}`;

describe('SOCKS4 and SOCKS5 through dante-server', () => {
  it('SOCKS4 (socksport) and SOCKS5 in both of socat 1.8 forms reach a local echo server', async (ctx) => {
    requireOrSkip(ctx, 'danted');
    const target = await echoServer();
    const socks = await dante();
    for (const address of [
      `SOCKS4:127.0.0.1:127.0.0.1:${target},socksport=${socks}`,
      `SOCKS5-CONNECT:127.0.0.1:${socks}:127.0.0.1:${target}`,
      `SOCKS5-CONNECT:127.0.0.1:localhost:${target},socksport=${socks}`,
    ]) {
      const r = await tsocat(['-', address], { input: `via ${address}\n`, endInputAfter: `via ${address}\n` });
      expect(r.stderr).toBe('');
      expect(r.stdout.toString()).toBe(`hello from echo\nvia ${address}\n`);
      expect(r.status).toBe(0);
    }
  });

  it('a refused target is one E line and exit 1 (SOCKS4 and SOCKS5)', async (ctx) => {
    requireOrSkip(ctx, 'danted');
    const closed = await freePort();
    const socks = await dante();
    const four = await tsocat(['-', `SOCKS4:127.0.0.1:127.0.0.1:${closed},socksport=${socks}`], { input: 'x' });
    expect(four.stderr.match(E_LINES)).toEqual([expect.stringContaining('E socks: connect request rejected or failed')]);
    expect(four.status).toBe(1);
    const five = await tsocat(['-', `SOCKS5:127.0.0.1:${socks}:127.0.0.1:${closed}`], { input: 'x' });
    expect(five.stderr.match(E_LINES)).toEqual([expect.stringMatching(/E SOCKS5 server error \d: /)]);
    expect(five.status).toBe(1);
  });
});

describe('SOCKS5 with username and password through microsocks', () => {
  it('socksuser/sockspass pass; a wrong password is one E line and exit 1; no log line at -d -d -d -d shows a password', async (ctx) => {
    requireOrSkip(ctx, 'microsocks');
    const target = await echoServer();
    const socks = await microsocks('alice', 'S0cks-Secret');
    const good = await tsocat(['-d', '-d', '-d', '-d', '-', `SOCKS5-CONNECT:127.0.0.1:${socks}:127.0.0.1:${target},socksuser=alice,sockspass=S0cks-Secret`], { input: 'authenticated\n', endInputAfter: 'authenticated\n' });
    expect(good.stdout.toString()).toBe('hello from echo\nauthenticated\n');
    expect(good.status).toBe(0);
    const wrong = await tsocat(['-d', '-d', '-d', '-d', '-', `SOCKS5-CONNECT:127.0.0.1:127.0.0.1:${target},socksport=${socks},socksuser=alice,sockspass=Wr0ng-Guess`], { input: 'x\n' });
    expect(wrong.stderr.match(E_LINES)).toEqual([expect.stringContaining('E SOCKS5 authentication for user "alice" failed')]);
    expect(wrong.status).toBe(1);
    const none = await tsocat(['-', `SOCKS5-CONNECT:127.0.0.1:${socks}:127.0.0.1:${target}`], { input: 'x\n' });
    expect(none.stderr.match(E_LINES)).toEqual([expect.stringContaining('E authentication with SOCKS5 server failed')]);
    for (const log of [good.stderr, wrong.stderr]) {
      expect(log).toContain(' D ');
      expect(log).not.toContain('S0cks-Secret');
      expect(log).not.toContain('Wr0ng-Guess');
    }
  });
});

describe('SOCKS4A: the server resolves the name', () => {
  it('the host name reaches the server as a name and the connection goes through', async (ctx) => {
    requireOrSkip(ctx, 'socksPerl');
    const target = await echoServer();
    const port = await freePort();
    const server = await startPeer('perl', ['-e', PERL_SOCKS4A, String(port)], port);
    const r = await tsocat(['-', `SOCKS4A:127.0.0.1:localhost:${target},socksport=${port},socksuser=tester`], { input: 'by name\n', endInputAfter: 'by name\n' });
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe('hello from echo\nby name\n');
    expect(server.log()).toContain(`request for localhost:${target}`);
  });
});

describe('SOCKS5-LISTEN: the server listens for us (BIND)', () => {
  it('dante binds a port, logs it, and the one peer that connects there is relayed', async (ctx) => {
    requireOrSkip(ctx, 'danted');
    const socks = await dante();
    const relay = background(['-d', '-d', `SOCKS5-LISTEN:127.0.0.1:${socks}:127.0.0.1:0`, 'SYSTEM:echo greeting from behind the socks server; cat']);
    let bound = 0;
    await waitFor(() => {
      bound = Number(/N SOCKS5 server listening on [\d.]+:(\d+)/.exec(relay.errors())?.[1] ?? 0);
      return bound > 0;
    }, 10000);
    const reply = await tcpExchange(bound, 'peer of the bound port\n');
    expect(reply.toString()).toBe('greeting from behind the socks server\npeer of the bound port\n');
    await waitFor(() => relay.errors().includes('N SOCKS5 server accepted a connection from 127.0.0.1:'));
  });
});
