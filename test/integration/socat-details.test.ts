/**
 * Smaller socat behaviours found by socat's own test.sh, each pinned here so
 * they stay: GOPEN creating a missing file, ftruncate, a named PIPE's owner
 * and its removal, accept-timeout's exit status, the listen-family variable.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backgroundStarter, exited, freePort, isListening, requireOrSkip, run, skipBecause, stop, TSOCAT, tcpExchange, tempDir, tsocat, waitFor } from '../helpers.js';

const background = backgroundStarter();

/** A program that prints the kernel buffer size of the pipe on its stdin (F_GETPIPE_SZ is 1032; perl is on every Debian system). */
function pipeSizeProbe(dir: string): string {
  const probe = join(dir, 'pipesize');
  writeFileSync(probe, "#!/bin/sh\nexec perl -e 'print fcntl(STDIN, 1032, 0)'\n", { mode: 0o755 });
  return probe;
}

describe('files and FIFOs', () => {
  it('GOPEN (a bare path) creates a missing file, as socat does', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const r = await tsocat(['-u', '-', join(dir, 'new')], { input: 'made\n' });
      expect(r.status).toBe(0);
      expect(readFileSync(join(dir, 'new'), 'utf8')).toBe('made\n');
    } finally {
      cleanup();
    }
  });

  it('fs-noatime sets the inode flag chattr +A would, fs-noatime=0 clears it (test.sh FS_NOATIME)', async (ctx) => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'attrs');
      const made = await tsocat(['-u', '/dev/null', `CREATE:${file},fs-noatime`]);
      // tmpfs and some overlays have no inode flags at all; lsattr comes with e2fsprogs
      if (/Inappropriate ioctl|Operation not supported/.test(made.stderr)) skipBecause(ctx, `the filesystem of ${dir} has no inode flags`);
      if (spawnSync('lsattr', ['-v']).error) skipBecause(ctx, 'lsattr (e2fsprogs) is not on PATH');
      expect(made.status).toBe(0);
      const attrs = () => spawnSync('lsattr', [file]).stdout.toString().split(' ')[0] as string;
      expect(attrs()).toContain('A');
      expect((await tsocat(['-u', '/dev/null', `OPEN:${file},fs-noatime=0`])).status).toBe(0);
      expect(attrs()).not.toContain('A');
    } finally {
      cleanup();
    }
  });

  it('ftruncate cuts the file once it is open', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'f');
      writeFileSync(file, 'abcdefgh');
      const r = await tsocat(['-u', '-', `OPEN:${file},append,ftruncate=0`], { input: 'XY' });
      expect(r.status).toBe(0);
      expect(readFileSync(file, 'utf8')).toBe('XY');
    } finally {
      cleanup();
    }
  });

  it('PIPE:path sets owner on the FIFO before waiting, and removes the FIFO it made when ended', async (ctx) => {
    requireOrSkip(ctx, 'root');
    const { dir, cleanup } = tempDir();
    try {
      const fifo = join(dir, 'p');
      const p = background(['-u', `PIPE:${fifo},user=65534`, '/dev/null']);
      await waitFor(() => existsSync(fifo) && statSync(fifo).uid === 65534);
      expect(statSync(fifo).isFIFO()).toBe(true);
      expect(await stop(p)).toBe(143);
      expect(existsSync(fifo)).toBe(false);
    } finally {
      cleanup();
    }
  });
});

describe('programs', () => {
  it('su runs the program as that user and its primary group', async (ctx) => {
    requireOrSkip(ctx, 'root');
    const r = await tsocat(['-u', 'SYSTEM:id -u; id -g,su=nobody', 'STDOUT']);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe('65534\n65534\n');
  });
});

describe('listeners', () => {
  it('accept-timeout ends with a warning and status 0, as socat', async () => {
    const r = await tsocat([`TCP4-LISTEN:${await freePort()},accept-timeout=0.1`, 'PIPE']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/ W accept: Connection timed out\n$/);
  });

  it('-0 lets TCP-LISTEN serve IPv6 and IPv4 peers alike; without it, IPv6 is refused (test.sh LISTEN_6)', async () => {
    const replies: string[] = [];
    for (const flags of [['-0'], []]) {
      const port = await freePort();
      const p = background([...flags, `TCP-LISTEN:${port},reuseaddr,fork,ai-addrconfig=0`, 'PIPE']);
      await waitFor(() => isListening(port));
      for (const client of [`TCP6:[::1]:${port}`, `TCP4:127.0.0.1:${port}`]) {
        replies.push((await tsocat(['-', client], { input: 'x\n' })).stdout.toString());
      }
      await stop(p);
    }
    expect(replies).toEqual(['x\n', 'x\n', '', 'x\n']);
  });

  it('ipv6-v6only on an IPv6 listener decides whether IPv4 peers get in (test.sh IPV6ONLY0/1)', async () => {
    const replies: string[] = [];
    for (const only of ['0', '1']) {
      const port = await freePort();
      const p = background([`TCP6-LISTEN:${port},ipv6-v6only=${only},reuseaddr`, 'PIPE']);
      await waitFor(() => isListening(port));
      replies.push((await tsocat(['-', `TCP4:127.0.0.1:${port}`], { input: 'v4\n' })).stdout.toString());
      await stop(p);
    }
    expect(replies).toEqual(['v4\n', '']);
  });

  it('SOCAT_DEFAULT_LISTEN_IP=6 makes TCP-LISTEN listen on IPv6', async () => {
    const port = await freePort();
    const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    const listensIn = (table: string) => readFileSync(table, 'utf8').split('\n').some((l) => l.trim().split(/\s+/)[1]?.endsWith(hex));
    const run = tsocat([`TCP-LISTEN:${port},accept-timeout=2`, 'PIPE'], { env: { ...process.env, SOCAT_DEFAULT_LISTEN_IP: '6' } });
    await waitFor(() => listensIn('/proc/net/tcp6'));
    expect(listensIn('/proc/net/tcp')).toBe(false);
    expect((await run).status).toBe(0);
  });

  it('range accepts a host name with a dotted mask', async () => {
    const r = await tsocat([`TCP4-LISTEN:${await freePort()},range=localhost:255.255.255.255,accept-timeout=0.2`, 'PIPE']);
    expect(r.status).toBe(0);
    const bad = await tsocat([`TCP4-LISTEN:${await freePort()},range=nosuchhost.invalid/8`, 'PIPE']);
    expect(bad.stderr).toMatch(/ E getaddrinfo\("nosuchhost\.invalid", "NULL", \{\}\): Name or service not known\n$/);
  });

  it('sourceport on a listener turns away clients from any other port', async () => {
    const port = await freePort();
    const allowed = await freePort();
    const p = background(['-dd', `TCP4-LISTEN:${port},reuseaddr,fork,sourceport=${allowed}`, 'PIPE']);
    await waitFor(() => p.errors().includes('listening on'));
    // turned away: the connection is reset or closed with nothing echoed
    // (a peer left hanging is neither: tcpExchange rejects, and its message shows here)
    const stranger = await tcpExchange(port, 'let me in\n', { timeoutMs: 2000 }).catch((e: NodeJS.ErrnoException) => e.code ?? e.message);
    expect(['ECONNRESET', '']).toContain(stranger.toString());
    await waitFor(() => p.errors().includes('due to wrong sourceport'));
    const friend = await tsocat(['-', `TCP4:127.0.0.1:${port},sourceport=${allowed}`], { input: 'friend\n' });
    expect(friend.stdout.toString()).toBe('friend\n');
  });

  it('nofork behind a forking listener: each peer\'s program holds that peer\'s connection itself', async () => {
    const port = await freePort();
    const p = background([`TCP4-LISTEN:${port},reuseaddr,fork`, 'SYSTEM:tr a-z A-Z; ls -l /proc/$$/fd/0,nofork']);
    await waitFor(() => isListening(port));
    for (const word of ['one', 'two']) {
      const reply = (await tcpExchange(port, `${word}\n`)).toString();
      expect(reply.split('\n')[0]).toBe(word.toUpperCase());
      expect(reply).toMatch(/-> socket:\[\d+\]/); // stdin is the connection, not a pipe from tsocat
    }
    expect(p.exitCode).toBeNull();
  });

  it('nofork after TCP connect: the program talks to the server itself, greeting included', async () => {
    let reply = '';
    const server = createServer((s) => {
      s.on('error', () => {});
      s.on('data', (d) => {
        reply += d.toString();
      });
      s.write('banner\n');
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const r = await tsocat([`TCP:127.0.0.1:${port}`, 'SYSTEM:read line; echo "got $line",nofork']);
      expect(r.status).toBe(0);
      await waitFor(() => reply !== '');
      expect(reply).toBe('got banner\n');
    } finally {
      server.close();
    }
  });

  it('pipes gives the program kernel pipes, sized by f-setpipe-sz; without it a socketpair (test.sh EXEC_F_SETPIPE_SZ)', async () => {
    const kinds = async (opts: string) =>
      (await tsocat(['-', `SYSTEM:readlink /proc/$$/fd/0 /proc/$$/fd/1 | cut -c1-4${opts}`], { input: '' })).stdout.toString();
    expect(await kinds(',pipes')).toBe('pipe\npipe\n');
    expect(await kinds('')).toBe('sock\nsock\n');
    const { dir, cleanup } = tempDir();
    try {
      const probe = pipeSizeProbe(dir);
      const size = await tsocat(['-', `EXEC:${probe},pipes,f-setpipe-sz=262144`], { input: '' });
      expect(size).toMatchObject({ status: 0, stdout: Buffer.from('262144') });
    } finally {
      cleanup();
    }
  });

  it('nofork on address 1 is refused, as socat', async () => {
    const r = await tsocat(['EXEC:cat,nofork', '-']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E option nofork is not allowed here\n$/);
  });

  it('fdout on a write-only program is refused, as socat', async () => {
    const r = await tsocat(['-u', '/dev/null', 'EXEC:cat,fdout=1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E _xioopen_foxec\(\): option fdout is useless in write-only mode\n$/);
  });

  it('a program started for an accepted connection gets SOCAT_SOCKADDR/SOCKPORT/PEERADDR/PEERPORT', async () => {
    const port = await freePort();
    const p = background([`TCP4-LISTEN:${port},reuseaddr`, 'SYSTEM:echo $SOCAT_SOCKADDR $SOCAT_SOCKPORT $SOCAT_PEERADDR $SOCAT_PEERPORT']);
    await waitFor(() => isListening(port));
    const reply = await tcpExchange(port, '', { timeoutMs: 3000 });
    const [sockAddr, sockPort, peerAddr, peerPort] = reply.toString().trim().split(' ');
    expect([sockAddr, sockPort, peerAddr]).toEqual(['127.0.0.1', String(port), '127.0.0.1']);
    expect(Number(peerPort)).toBeGreaterThan(0);
    await stop(p);
  });

  it('on IPv6 the addresses are exported in socat\'s bracketed 4-digit form', async () => {
    const port = await freePort();
    const p = background([`TCP6-LISTEN:${port},reuseaddr`, 'SYSTEM:echo $SOCAT_SOCKADDR $SOCAT_PEERADDR']);
    await waitFor(() => isListening(port) || p.exitCode !== null);
    expect(p.errors()).toBe('');
    const r = await tsocat(['-', `TCP6:[::1]:${port}`], { input: '' });
    expect(r.stdout.toString()).toBe('[0000:0000:0000:0000:0000:0000:0000:0001] [0000:0000:0000:0000:0000:0000:0000:0001]\n');
    await stop(p);
  });

  it('setsockopt sets a raw socket option; the kernel\'s refusal is an error (test.sh SETSOCKOPT, SETSOCKOPT_LISTEN)', async () => {
    const port = await freePort();
    const p = background([`TCP4-LISTEN:${port},reuseaddr,fork,setsockopt-listen=1:2:1`, 'PIPE']);
    await waitFor(() => isListening(port));
    // TCP_MAXSEG (6:2) takes 512 but not 1
    const good = await tsocat(['-', `TCP4:127.0.0.1:${port},setsockopt=6:2:512`], { input: 'mss\n' });
    expect(good).toMatchObject({ status: 0, stdout: Buffer.from('mss\n') });
    const bad = await tsocat(['-', `TCP4:127.0.0.1:${port},setsockopt-int=6:2:1`], { input: 'mss\n' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/ E setsockopt\(\d+, 6, 2, \{0x01000000\}, 4\): Invalid argument\n$/);
    await stop(p);
  });

  it('-b beyond what a buffer can hold is refused', async () => {
    const r = await tsocat(['-b', '9223372036854775808', '/dev/null', 'PIPE']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E buffer size option \(-b\) to big - 9223372036854775808 \(max is 2147483647\)\n$/);
  });
});

describe('sniff files', () => {
  it('-r/-R names expand $PROGNAME, $TIMESTAMP, $MICROS, $$ and the connection\'s variables, once per session', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const port = await freePort();
      const name = (suffix: string) => join(dir, `s.$PROGNAME-$TIMESTAMP.$MICROS-$SERVER0_PEERADDR-$$.${suffix}`);
      const p = background(['-lp', 'server0', '-r', name('in'), '-R', name('out'), `TCP4-LISTEN:${port},reuseaddr,fork`, 'PIPE']);
      await waitFor(() => isListening(port));
      expect((await tcpExchange(port, 'one\n', { halfClose: true })).toString()).toBe('one\n');
      expect((await tcpExchange(port, 'two\n', { halfClose: true })).toString()).toBe('two\n');
      await stop(p);
      const files = readdirSync(dir).sort();
      expect(files).toHaveLength(4);
      const pattern = new RegExp(`^s\\.server0-\\d{8}T\\d{6}\\.\\d+-127\\.0\\.0\\.1-${p.pid}\\.(in|out)$`);
      for (const f of files) expect(f).toMatch(pattern);
      const contents = files.map((f) => readFileSync(join(dir, f), 'utf8')).sort();
      expect(contents).toEqual(['one\n', 'one\n', 'two\n', 'two\n']);
    } finally {
      cleanup();
    }
  });

  it('a sniff file is appended to, not truncated, as socat opens it', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'sniff');
      writeFileSync(file, 'before\n');
      const r = await tsocat(['-u', '-r', file, '-', '/dev/null'], { input: 'after\n' });
      expect(r.status).toBe(0);
      expect(readFileSync(file, 'utf8')).toBe('before\nafter\n');
    } finally {
      cleanup();
    }
  });
});

describe('fork on address 2 and the end of an address', () => {
  it('address 2 listening with fork: each peer relays with the one address 1 already open (test.sh TCP4ENDCLOSE)', async () => {
    const collectorPort = await freePort();
    const port = await freePort();
    const collector = background(['-u', `TCP4-LISTEN:${collectorPort},reuseaddr,bind=127.0.0.1`, '-']);
    await waitFor(() => isListening(collectorPort));
    const forker = background(['-U', `TCP4:127.0.0.1:${collectorPort},end-close`, `TCP4-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`]);
    await waitFor(() => isListening(port));
    for (const line of ['first\n', 'second\n']) {
      const r = await tsocat(['-u', '-', `TCP4:127.0.0.1:${port}`], { input: line });
      expect(r.status).toBe(0);
    }
    await waitFor(() => collector.output() === 'first\nsecond\n');
    expect(forker.exitCode).toBeNull();
  });

  it('a program as address 1 serves every peer of a forking address 2 and outlives each session', async () => {
    const port = await freePort();
    const p = background(['EXEC:cat,end-close', `TCP4-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`]);
    await waitFor(() => isListening(port));
    for (const line of ['one\n', 'two\n']) {
      const r = await tsocat(['-', `TCP4:127.0.0.1:${port}`], { input: line });
      expect(r.stdout.toString()).toBe(line);
    }
    expect(p.exitCode).toBeNull();
  });

  it('shut-none keeps the connection open for writing when the other side ends; the default shuts it down', async () => {
    // the server answers "eof" when it sees the client's half-close, and "close" when the client is gone
    const answers: string[] = [];
    const server = createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => {});
      s.on('data', () => {});
      s.on('end', () => s.end('eof\n'));
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    try {
      for (const opt of ['', ',shut-none']) {
        // -t 1: time for the server's answer to the half-close; with shut-none only -t ends the relay
        const r = await tsocat(['-t', '1', '-', `TCP4:127.0.0.1:${port}${opt}`], { input: 'x' });
        answers.push(`${r.status}:${r.stdout.toString()}`);
      }
    } finally {
      server.close();
    }
    expect(answers).toEqual(['0:eof\n', '0:']);
  });
});

describe('fork on an address that connects (socat 1.8)', () => {
  it('connects again after each connection, at most max-children at once (test.sh TCP_CONNECT_MAXCHILDREN)', async () => {
    const port = await freePort();
    const reader = background(['-u', `TCP4-LISTEN:${port},reuseaddr,fork`, 'STDOUT']);
    await waitFor(() => isListening(port));
    const forker = background(['-U', `TCP4:127.0.0.1:${port},fork,max-children=2,interval=0.05`, 'SYSTEM:echo start; sleep 0.4; echo end']);
    const count = (word: string) => reader.output().split('\n').filter((l) => l === word).length;
    await waitFor(() => count('start') >= 5, 10000);
    await stop(forker);
    let open = 0;
    let most = 0;
    for (const line of reader.output().split('\n')) {
      if (line === 'start') open++;
      if (line === 'end') open--;
      most = Math.max(most, open);
    }
    expect(most).toBe(2);
  });

  it('PROXY-CONNECT too: a CONNECT per connection, at most max-children at once (test.sh PROXY_CONNECT_MAXCHILDREN)', async () => {
    // a proxy that grants every CONNECT and records what each tunnel then carries, line by line
    const lines: string[] = [];
    const proxy = createServer((s) => {
      let head = '';
      let granted = false;
      s.on('data', (d: Buffer) => {
        if (granted) {
          lines.push(...d.toString().split('\n').filter((l) => l !== ''));
          return;
        }
        head += d.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        granted = true;
        s.write('HTTP/1.0 200 OK\r\n\r\n');
        lines.push(...head.slice(end + 4).split('\n').filter((l) => l !== ''));
      });
      s.on('error', () => {});
    });
    const port = await freePort();
    await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
    try {
      const forker = background(['-U', `PROXY:127.0.0.1:127.0.0.1:80,proxyport=${port},fork,max-children=2,interval=0.05`, 'SYSTEM:echo start; sleep 0.4; echo end']);
      await waitFor(() => lines.filter((l) => l === 'start').length >= 5, 10000);
      await stop(forker);
      let open = 0;
      let most = 0;
      for (const line of lines) {
        if (line === 'start') open++;
        if (line === 'end') open--;
        most = Math.max(most, open);
      }
      expect(most).toBe(2);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe('options on tsocat\'s own descriptors and process', () => {
  it('f-setpipe-sz resizes the pipe behind STDIN, seen by a program that took it over (test.sh STDIN_F_SETPIPE_SZ)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const probe = pipeSizeProbe(dir);
      const viaPipe = (opt: string) => run('/bin/sh', ['-c', `echo | "${process.execPath}" "${TSOCAT}" 'STDIN${opt}!!STDOUT' 'EXEC:${probe},nofork'`]);
      const before = await viaPipe('');
      const after = await viaPipe(',f-setpipe-sz=262144');
      expect(after).toMatchObject({ status: 0, stdout: Buffer.from('262144') });
      expect(before.stdout.toString()).not.toBe('262144');
    } finally {
      cleanup();
    }
  });

  it('cool-write: a reader that went away ends the relay quietly with status 0; without it, an error (test.sh COOLWRITE)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const statuses: Array<number | null> = [];
      for (const opt of [',cool-write', '']) {
        const fifo = join(dir, `p${statuses.length}`);
        const reader = background(['-u', `PIPE:${fifo},readbytes=1`, '/dev/null']);
        await waitFor(() => existsSync(fifo));
        const writer = background(['-u', '-', `OPEN:${fifo}${opt}`]);
        writer.stdin?.on('error', () => {}); // the writer's end is judged by its status, not by our pipe to it
        writer.stdin?.write('.\n');
        // the reader ends after its one byte: only then is nobody left to read the next write
        expect(await exited(reader)).toBe(0);
        writer.stdin?.end('\n');
        statuses.push(await exited(writer));
      }
      expect(statuses).toEqual([0, 1]);
    } finally {
      cleanup();
    }
  });

  it('o-noatime on STDIO reads the file behind stdin without touching its access time (test.sh O_NOATIME_FD)', async (ctx) => {
    const { dir, cleanup } = tempDir();
    try {
      const past = Date.now() / 1000 - 100;
      const files = ['with', 'without'].map((name) => {
        const f = join(dir, name);
        writeFileSync(f, 'content\n');
        utimesSync(f, past, past);
        return f;
      });
      const readThrough = (file: string, opt: string) => run('/bin/sh', ['-c', `"${process.execPath}" "${TSOCAT}" -u -${opt} /dev/null < "${file}"`]);
      expect((await readThrough(files[0] as string, ',o-noatime')).status).toBe(0);
      expect((await readThrough(files[1] as string, '')).status).toBe(0);
      // a filesystem that records no access times at all cannot show the difference
      if (statSync(files[1] as string).atimeMs / 1000 - past < 1) skipBecause(ctx, `the filesystem of ${dir} records no access times`);
      expect(Math.round(statSync(files[0] as string).atimeMs / 1000)).toBe(Math.round(past));
    } finally {
      cleanup();
    }
  });

  it('setsid on STDIO makes tsocat itself a session leader (test.sh MAINSETSID)', async () => {
    // field 6 of /proc/<pid>/stat is the session id; the program's parent is tsocat
    const r = await tsocat(['-U', '-,setsid', 'SYSTEM:echo $PPID $(cut -d" " -f6 /proc/$PPID/stat)']);
    expect(r.status).toBe(0);
    const [parent, session] = r.stdout.toString().trim().split(' ');
    expect(session).toBe(parent);
  });

  it('so-reuseport lets two listeners share a port and the kernel splits the clients; a third without it is refused (test.sh SO_REUSEPORT)', async () => {
    const port = await freePort();
    const a = background(['-d', '-d', `TCP4-LISTEN:${port},reuseaddr,fork,so-reuseport`, 'SYSTEM:echo A']);
    await waitFor(() => a.errors().includes('listening on'));
    const b = background(['-d', '-d', `TCP4-LISTEN:${port},reuseaddr,fork,so-reuseport`, 'SYSTEM:echo B']);
    await waitFor(() => b.errors().includes('listening on') || b.exitCode !== null);
    const plain = await tsocat([`TCP4-LISTEN:${port}`, 'PIPE']);
    expect(plain.status).toBe(1);
    expect(plain.stderr).toMatch(/ E bind\(AF=2 0\.0\.0\.0:\d+\): Address already in use\n$/);
    const seen = new Set<string>();
    // the kernel picks a listener by a hash of the client's address and port: a few clients reach both
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await tcpExchange(port, '', { timeoutMs: 3000 })).toString().trim());
    expect([...seen].sort()).toEqual(['A', 'B']);
  });

  it('bind takes a host name on a client, resolved as socat resolves it', async () => {
    const port = await freePort();
    background([`TCP4-LISTEN:${port},reuseaddr`, 'SYSTEM:echo $SOCAT_PEERADDR']);
    await waitFor(() => isListening(port));
    const r = await tsocat(['-', `TCP4:127.0.0.1:${port},bind=localhost`], { input: '' });
    expect(r).toMatchObject({ status: 0, stdout: Buffer.from('127.0.0.1\n') });
  });

  it('so-reuseport on a connecting address is set before connect, as in socat (test/integration/socket-phases.test.ts shows it)', async () => {
    const r = await tsocat(['-', 'TCP4:127.0.0.1:1,so-reuseport']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E connect\(AF=2 127\.0\.0\.1:1\): Connection refused\n$/);
  });

  it('lowport: a listener turns away clients from ports above 1023; a client with lowport gets through', async (ctx) => {
    requireOrSkip(ctx, 'root'); // the client binds a port below 1024
    const port = await freePort();
    const p = background([`TCP4-LISTEN:${port},reuseaddr,fork,lowport`, 'PIPE']);
    await waitFor(() => isListening(port));
    const high = await tsocat(['-', `TCP4:127.0.0.1:${port}`], { input: 'high\n' });
    expect(high).toMatchObject({ status: 0, stdout: Buffer.from('') });
    await waitFor(() => p.errors().includes('due to lowport option'));
    const low = await tsocat(['-', `TCP4:127.0.0.1:${port},lowport`], { input: 'low\n' });
    expect(low.stdout.toString()).toBe('low\n');
  });
});
