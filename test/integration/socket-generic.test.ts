/**
 * The generic socket addresses, as socat's test.sh runs them: socket()'s
 * numbers and a struct sockaddr written as data (`x<port><addr>x<zeros>` for
 * IPv4, `"path\0"` for UNIX). Peers are Debian's socat; each client command
 * line runs with tsocat and with socat, and both must give the same bytes.
 */
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, requireOrSkip, requires, run, SOCAT, TSOCAT, tcpExchange, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';
import { loggedStarter, whenWritten } from '../logged-process.js';

requires('socat');

const hex4 = (port: number) => port.toString(16).padStart(4, '0');
/** sockaddr_in after its family: port, 127.0.0.1, eight zero bytes. */
const inet4 = (port: number) => `x${hex4(port)}7f000001x0000000000000000`;
/** the same for bind=: any address. */
const anyInet4 = (port: number) => `x${hex4(port)}x00000000x0000000000000000`;

const startLogged = loggedStarter();

const socat = (...args: string[]) => [SOCAT as string, '-d', '-d', ...args];
const ours = (...args: string[]) => [process.execPath, TSOCAT, '-d', '-d', ...args];

/** One client command line, run by tsocat and by socat against a fresh server each time: both outputs. */
async function bothClients(server: (port: number) => Promise<unknown>, client: (port: number) => string[], input: string) {
  const out: Record<string, string> = {};
  for (const [name, program] of [
    ['tsocat', [process.execPath, TSOCAT]],
    ['socat', [SOCAT as string]],
  ] as const) {
    const port = await freePort();
    await server(port);
    const r = await run(program[0], [...program.slice(1), ...client(port)], { input });
    expect(r.status, `${name}: ${r.stderr}`).toBe(0);
    out[name] = r.stdout.toString();
  }
  return out;
}

describe('SOCKET-CONNECT', () => {
  it('2:6 (TCP/IPv4) to a TCP4-LISTEN echo: the data comes back, as with socat', async () => {
    const out = await bothClients(
      (port) => startLogged(socat(`TCP4-LISTEN:${port},reuseaddr,bind=127.0.0.1`, 'PIPE'), /listening on/),
      (port) => ['-', `SOCKET-CONNECT:2:6:${inet4(port)}`],
      'generic connect\n',
    );
    expect(out.tsocat).toBe('generic connect\n');
    expect(out.tsocat).toBe(out.socat);
  });

  it('bind= as sockaddr data: the server sees the chosen source port', async () => {
    const source = await freePort();
    const out = await bothClients(
      (port) => startLogged(socat(`TCP4-LISTEN:${port},reuseaddr,bind=127.0.0.1`, 'SYSTEM:echo $SOCAT_PEERPORT'), /listening on/),
      (port) => ['-', `SOCKET-CONNECT:2:6:${inet4(port)},bind=${anyInet4(source)},reuseaddr`],
      '',
    );
    expect(out.tsocat).toBe(`${source}\n`);
    expect(out.tsocat).toBe(out.socat);
  });

  it('1:0 with a UNIX path written as a string with its NUL', async () => {
    const { dir, cleanup } = tempDir();
    try {
      let n = 0;
      const out = await bothClients(
        async () => {
          const path = join(dir, `s${++n}`);
          await startLogged(socat(`UNIX-LISTEN:${path}`, 'PIPE'), /listening on/);
        },
        // socat's test.sh form: the quotes escaped so they reach the data notation, which reads "…\0"
        () => ['-', `SOCKET-CONNECT:1:0:\\"${join(dir, `s${n}`)}\\\\0\\"`],
        'over a UNIX socket\n',
      );
      expect(out.tsocat).toBe('over a UNIX socket\n');
      expect(out.tsocat).toBe(out.socat);
    } finally {
      cleanup();
    }
  });

  it('pf= wins over the domain parameter, as in socat', async () => {
    const port = await freePort();
    await startLogged(socat(`TCP4-LISTEN:${port},reuseaddr,bind=127.0.0.1`, 'PIPE'), /listening on/);
    const r = await tsocat(['-', `SOCKET-CONNECT:99:6:${inet4(port)},pf=2`], { input: 'pf\n' });
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe('pf\n');
  });

  it('setsockopt-int and setsockopt-string are set on the socket (read back by the program that takes it over), as socat sets them', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const probe = join(dir, 'probe');
      // TCP_NODELAY and SO_BINDTODEVICE of the descriptor on stdin, to stderr (stdout is the socket)
      const perl = 'print STDERR join(",", unpack("i*", getsockopt(STDIN, 6, 1))), " ", unpack("Z*", getsockopt(STDIN, 1, 25)), "\\n"';
      writeFileSync(probe, `#!/bin/sh\nexec perl -e '${perl}'\n`, { mode: 0o755 });
      const results: Record<string, string> = {};
      for (const [name, program] of [
        ['tsocat', [process.execPath, TSOCAT]],
        ['socat', [SOCAT as string]],
      ] as const) {
        for (const options of [',setsockopt-int=6:1:1,setsockopt-string=1:25:lo', '']) {
          const port = await freePort();
          await startLogged(socat(`TCP4-LISTEN:${port},reuseaddr,bind=127.0.0.1`, 'PIPE'), /listening on/);
          const r = await run(program[0], [...program.slice(1), `SOCKET-CONNECT:2:6:${inet4(port)}${options}`, `EXEC:${probe},nofork`]);
          results[`${name}${options}`] = r.stderr.trim();
        }
      }
      expect(results['tsocat,setsockopt-int=6:1:1,setsockopt-string=1:25:lo']).toBe('1 lo');
      expect(results.tsocat).toBe('0');
      expect(results['tsocat,setsockopt-int=6:1:1,setsockopt-string=1:25:lo']).toBe(results['socat,setsockopt-int=6:1:1,setsockopt-string=1:25:lo']);
      expect(results.tsocat).toBe(results.socat);
    } finally {
      cleanup();
    }
  });
});

describe('SOCKET-LISTEN', () => {
  it('2:6 with PIPE: a TCP client gets its data back', async () => {
    const port = await freePort();
    await startLogged(ours(`SOCKET-LISTEN:2:6:${inet4(port)},reuseaddr`, 'PIPE'), /listening on/);
    const r = await run(SOCAT as string, ['-', `TCP4-CONNECT:127.0.0.1:${port}`], { input: 'listened\n' });
    expect(r.stdout.toString()).toBe('listened\n');
  });

  it('with fork: three clients, each served in its own session, with SOCAT_PEERPORT set', async () => {
    const port = await freePort();
    await startLogged(ours(`SOCKET-LISTEN:2:6:${inet4(port)},reuseaddr,fork`, 'SYSTEM:echo $SOCAT_PEERPORT; cat'), /listening on/);
    const replies = await Promise.all([1, 2, 3].map((i) => tcpExchange(port, `client ${i}\n`)));
    for (const [i, reply] of replies.entries()) expect(reply.toString()).toMatch(new RegExp(`^\\d+\\nclient ${i + 1}\\n$`));
  });

  it('so-type=5 on UNIX: a seqpacket listener; a seqpacket client keeps message boundaries both ways', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const path = join(dir, 'seq');
      await startLogged(ours(`SOCKET-LISTEN:1:0:\\"${path}\\\\0\\",so-type=5`, 'PIPE'), /listening on/);
      const r = await tsocat(['-', `SOCKET-CONNECT:1:0:\\"${path}\\\\0\\",type=5`], { input: 'seqpacket\n' });
      expect(r.stderr).toBe('');
      expect(r.stdout.toString()).toBe('seqpacket\n');
    } finally {
      cleanup();
    }
  });

  it('backlog and setsockopt-listen reach the listening socket (ss shows the backlog)', async () => {
    const port = await freePort();
    await startLogged(ours(`SOCKET-LISTEN:2:6:${inet4(port)},reuseaddr,backlog=7,setsockopt-listen=1:8:i50000`, 'PIPE'), /listening on/);
    await waitForPort(port);
    const ss = (await run('ss', ['-ltnmH', `sport = :${port}`])).stdout.toString();
    // ss's Send-Q of a listener is its backlog; SO_RCVBUF=50000 reads back doubled, as the kernel keeps it
    expect(ss.trim().split(/\s+/)[2]).toBe('7');
    expect(ss).toContain('rb100000');
  });
});

describe('SOCKET-SENDTO, SOCKET-RECVFROM, SOCKET-RECV, SOCKET-DATAGRAM (UDP: 2:2:17)', () => {
  it('SOCKET-SENDTO to a UDP4-RECVFROM echo: the reply comes back, as with socat', async () => {
    const out = await bothClients(
      (port) => startLogged(socat(`UDP4-RECVFROM:${port},reuseaddr,bind=127.0.0.1`, 'PIPE'), /receiving on/),
      (port) => ['-', `SOCKET-SENDTO:2:2:17:${inet4(port)}`],
      'sent to\n',
    );
    expect(out.tsocat).toBe('sent to\n');
    expect(out.tsocat).toBe(out.socat);
  });

  it('SOCKET-RECVFROM with PIPE answers the sender', async () => {
    const port = await freePort();
    await startLogged(ours(`SOCKET-RECVFROM:2:2:17:${inet4(port)},reuseaddr`, 'PIPE'), /receiving on/);
    const r = await run(SOCAT as string, ['-t', '2', '-', `UDP4-SENDTO:127.0.0.1:${port}`], { input: 'recvfrom\n' });
    expect(r.stdout.toString()).toBe('recvfrom\n');
  });

  it('SOCKET-RECVFROM with fork: each datagram is a session of its own (its own child program)', async () => {
    const port = await freePort();
    const server = await startLogged(ours(`SOCKET-RECVFROM:2:2:17:${inet4(port)},reuseaddr,fork`, 'SYSTEM:echo $$; cat'), /receiving on/);
    const pids = await Promise.all([1, 2, 3].map(async (i) => (await run(SOCAT as string, ['-t', '2', '-', `UDP4-SENDTO:127.0.0.1:${port}`], { input: `peer ${i}\n` })).stdout.toString()));
    const childPids = pids.map((p) => p.split('\n')[0]);
    expect(new Set(childPids).size, server.log()).toBe(3);
    for (const [i, p] of pids.entries()) expect(p).toMatch(new RegExp(`peer ${i + 1}\\n`));
  });

  it('SOCKET-RECV -u: datagrams from any sender are written out', async () => {
    const port = await freePort();
    const { dir, cleanup } = tempDir();
    try {
      const out = join(dir, 'out');
      await startLogged(ours('-u', `SOCKET-RECV:2:2:17:${inet4(port)},reuseaddr`, `OPEN:${out},creat`), /receiving on/);
      await run(SOCAT as string, ['-u', '-', `UDP4-SENDTO:127.0.0.1:${port}`], { input: 'received\n' });
      expect((await whenWritten(out)).toString()).toBe('received\n');
    } finally {
      cleanup();
    }
  });

  it('SOCKET-DATAGRAM to a UDP4-DATAGRAM echo, with bind=: the reply comes back, as with socat', async () => {
    const out = await bothClients(
      async (port) => {
        // the echo sends its replies to port+1... so the client binds there
        await startLogged(socat(`UDP4-DATAGRAM:127.0.0.1:${port + 1},bind=127.0.0.1:${port},reuseaddr`, 'PIPE'), /starting data transfer loop/);
      },
      (port) => ['-t', '2', '-', `SOCKET-DATAGRAM:2:2:17:${inet4(port)},bind=${anyInet4(port + 1)},reuseaddr`],
      'datagram\n',
    );
    expect(out.tsocat).toBe('datagram\n');
    expect(out.tsocat).toBe(out.socat);
  });

  it('SOCKET-DATAGRAM with range (sockaddr data:mask, the man page generic client on loopback): replies from outside are dropped with socat\'s warning, as with socat', async () => {
    const sockets: DgramSocket[] = [];
    const bound = (address: string) =>
      new Promise<DgramSocket>((resolve) => {
        const s = createSocket('udp4');
        sockets.push(s);
        s.bind(0, address, () => resolve(s));
      });
    try {
      const [responder, outside, inside] = await Promise.all([bound('127.0.0.1'), bound('127.0.0.1'), bound('127.0.0.2')]);
      // each request is answered from 127.0.0.1 (outside the range) first, then from 127.0.0.2 (inside)
      responder.on('message', (_data, from) => outside.send('outside\n', from.port, from.address, () => inside.send('inside\n', from.port, from.address)));
      const range = 'x0000x7f000002x0000000000000000:x0000xffffffffx0000000000000000';
      const address = `SOCKET-DATAGRAM:2:2:17:${inet4(responder.address().port)},range=${range}`;
      for (const program of [ours('-', address), socat('-', address)]) {
        const r = await run(program[0] as string, program.slice(1), { input: 'ask\n', endInputAfter: 'inside' });
        expect(r.stdout.toString(), program[0]).toBe('inside\n');
        expect(r.stderr, program[0]).toMatch(new RegExp(` W refusing connection from AF=2 127\\.0\\.0\\.1:${outside.address().port} due to range option\n`));
      }
    } finally {
      for (const s of sockets) s.close();
    }
  });

  it('SOCKET-RECV with range: datagrams from outside it are dropped with socat\'s warning', async () => {
    const port = await freePort();
    const { dir, cleanup } = tempDir();
    const outside = createSocket('udp4');
    const inside = createSocket('udp4');
    try {
      const out = join(dir, 'out');
      const range = 'x0000x7f000002x0000000000000000:x0000xffffffffx0000000000000000';
      const server = await startLogged(ours('-u', `SOCKET-RECV:2:2:17:${inet4(port)},reuseaddr,range=${range}`, `OPEN:${out},creat`), /receiving on/);
      await new Promise((r) => inside.bind(0, '127.0.0.2', () => r(undefined)));
      outside.send('outside\n', port, '127.0.0.1', () => inside.send('inside\n', port, '127.0.0.1'));
      expect((await whenWritten(out)).toString()).toBe('inside\n');
      // the warning reaches us through a pipe of its own, maybe after the file was written
      await waitFor(() => / W refusing connection from AF=2 127\.0\.0\.1:\d+ due to range option\n/.test(server.log()), 5000, 'the range warning');
    } finally {
      outside.close();
      inside.close();
      cleanup();
    }
  });

  it('SOCKET-LISTEN with range: a peer outside it is closed with socat\'s warning and the listener goes on to serve one inside, as with socat', async () => {
    const range = 'x0000x7f000002x0000000000000000:x0000xffffffffx0000000000000000';
    /** What a peer bound to `from` reads before the connection ends. */
    const answer = (port: number, from: string) =>
      new Promise<string>((resolve, reject) => {
        let got = '';
        const c = connect({ port, host: '127.0.0.1', localAddress: from });
        c.on('data', (d: Buffer) => {
          got += d.toString();
        });
        c.on('error', () => resolve(got));
        c.on('close', () => resolve(got));
        c.setTimeout(8000, () => reject(new Error(`no end from the listener for ${from} in 8 s`)));
      });
    for (const [who, program] of [['tsocat', ours], ['socat', socat]] as const) {
      const port = await freePort();
      const server = await startLogged(program(`SOCKET-LISTEN:2:6:${inet4(port)},reuseaddr,fork,range=${range}`, 'SYSTEM:echo served'), /listening on/);
      expect(await answer(port, '127.0.0.1'), who).toBe('');
      await waitFor(() => / W refusing connection from AF=2 127\.0\.0\.1:\d+ due to range option\n/.test(server.log()), 5000, `${who}: the range warning`);
      expect(await answer(port, '127.0.0.2'), who).toBe('served\n');
    }
  });

  it('range on SOCKET-LISTEN wants <address data>:<mask data> too', async () => {
    const r = await tsocat([`SOCKET-LISTEN:2:6:${inet4(9)},range=127.0.0.0/8`, 'PIPE'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E syntax error in range "127\.0\.0\.0\/8" of unspecified address family: use <addr>:<mask>\n$/);
  });

  it('range on SOCKET-DATAGRAM wants <address data>:<mask data>, as socat (range of unspecified family)', async () => {
    const r = await tsocat(['-', `SOCKET-DATAGRAM:2:2:17:${inet4(9)},range=127.0.0.0/8`], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E syntax error in range "127\.0\.0\.0\/8" of unspecified address family: use <addr>:<mask>\n$/);
  });
});

describe('generic raw IP (root): SOCKET-RECV:2:3:0 with protocol=', () => {
  it('protocol=253 makes a raw IP socket of that protocol; the packet arrives with its IP header (the generic address keeps it)', async (ctx) => {
    requireOrSkip(ctx, 'root');
    const { dir, cleanup } = tempDir();
    try {
      const out = join(dir, 'out');
      await startLogged(ours('-u', `SOCKET-RECV:2:3:0:${inet4(0)},protocol=253`, `OPEN:${out},creat`), /receiving on/);
      await run(process.execPath, [TSOCAT, '-u', '-', 'IP4-SENDTO:127.0.0.1:253'], { input: 'raw payload' });
      const bytes = await whenWritten(out);
      // a 20-byte IPv4 header (version 4, protocol 253), then the payload
      expect(bytes[0]).toBe(0x45);
      expect(bytes[9]).toBe(253);
      expect(bytes.subarray(20).toString()).toBe('raw payload');
    } finally {
      cleanup();
    }
  });
});

describe('bad input: one E line, status 1', () => {
  it.each([
    ['SOCKET-CONNECT:two:6:x00', 'domain "two" is not a number'],
    ['SOCKET-CONNECT:2:6:xabc', 'syntax error in "xabc"'],
    ['SOCKET-CONNECT:2:6', 'wrong number of parameters'],
    ['SOCKET-SENDTO:2:2:17', 'wrong number of parameters'],
    ['SOCKET-CONNECT:2:6:x00017f000001x0000000000000000', 'AF=2 127.0.0.1:1, 16): Connection refused'],
    ['SOCKET-CONNECT:2:6:x00017f000001x0000000000000000,type=abc', 'missing numerical value of option "type=abc"'],
    ['SOCKET-RECV:2:2:17:x00007f000001x0000000000000000,bind=x00', 'option "bind" does not apply here'],
    ['SOCKET-SENDTO:2:2:17:x00017f000001x0000000000000000,connect-timeout=1', 'option "connect-timeout" does not apply to SOCKET-SENDTO'],
  ])('%s', async (address, message) => {
    const r = await tsocat(['-u', address, '-']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('so-type and protocol are refused on TCP, whose socket Node makes', async () => {
    for (const address of ['TCP:127.0.0.1:1,socktype=6', 'TCP-LISTEN:0,protocol=33']) {
      const r = await tsocat(['-', address]);
      expect(r.status, address).toBe(1);
      expect(r.stderr, address).toMatch(/option "so-(type|protocol)" is not supported with TCP/);
    }
  });
});
