/**
 * The relay's own options and flags, each shown by what it changes: the APPL
 * options (ignoreeof, cr, crnl, readbytes, escape), the FD options that act when
 * the relay ends a direction (end-close, shut-*, cool-write), and the flags
 * -b -t -T -u -U -v -x -r -R -g -S --statistics. Each test fails when its
 * option is switched off (TSOCAT_ABLATE).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, constants, existsSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, stop, TSOCAT, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';

const background = backgroundStarter();

/** tsocat with its standard input on a descriptor the test chooses (a file, a FIFO); stopped after the test. */
const withStdin: ChildProcess[] = [];
afterEach(async () => {
  for (const p of withStdin.splice(0)) await stop(p);
});
function startWithStdin(args: string[], stdinFd: number): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [TSOCAT, ...args], { stdio: [stdinFd, 'pipe', 'pipe'] });
  withStdin.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return Object.assign(child, { output: () => out });
}

/** Resolves with the exit status and how long the process took from `since`; bounded by `timeoutMs`. */
function exited(child: ChildProcess, since: number, timeoutMs = 8000): Promise<{ status: number | null; seconds: number }> {
  return new Promise((resolve, reject) => {
    const done = () => resolve({ status: child.exitCode, seconds: (Date.now() - since) / 1000 });
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
  });
}

function inTempDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const { dir, cleanup } = tempDir();
    try {
      await fn(dir);
    } finally {
      cleanup();
    }
  };
}

function mkfifo(path: string): void {
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
}

describe('ignoreeof', () => {
  it('OPEN:file,ignoreeof relays what is appended after end of file, like tail -f; -T ends it', inTempDir(async (dir) => {
    const file = join(dir, 'log');
    writeFileSync(file, 'first\n');
    const p = background(['-u', '-T', '1', `OPEN:${file},ignoreeof`, 'STDOUT']);
    await waitFor(() => p.output() === 'first\n');
    appendFileSync(file, 'appended\n');
    await waitFor(() => p.output() === 'first\nappended\n');
    const t0 = Date.now();
    const end = await exited(p, t0);
    expect(end.status).toBe(0);
    expect(end.seconds).toBeLessThan(4);
  }));

  it('STDIN,ignoreeof from a file goes on reading what is appended', inTempDir(async (dir) => {
    const file = join(dir, 'in');
    writeFileSync(file, 'before\n');
    const fd = openSync(file, 'r');
    try {
      const p = startWithStdin(['-u', '-T', '1', 'STDIN,ignoreeof', 'STDOUT'], fd);
      await waitFor(() => p.output() === 'before\n');
      appendFileSync(file, 'after\n');
      await waitFor(() => p.output() === 'before\nafter\n');
      expect((await exited(p, Date.now())).status).toBe(0);
    } finally {
      closeSync(fd);
    }
  }));

  it('STDIN,ignoreeof from a FIFO reads what a second writer sends after the first one left', inTempDir(async (dir) => {
    const fifo = join(dir, 'fifo');
    mkfifo(fifo);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const first = openSync(fifo, 'w');
      const p = startWithStdin(['-u', '-T', '1.5', 'STDIN,ignoreeof', 'STDOUT'], reader);
      writeSync(first, 'one\n');
      closeSync(first);
      await waitFor(() => p.output() === 'one\n');
      const second = await open(fifo, 'w');
      await second.write('two\n');
      await second.close();
      await waitFor(() => p.output() === 'one\ntwo\n');
      expect((await exited(p, Date.now())).status).toBe(0);
    } finally {
      closeSync(reader);
    }
  }));

  it('PIPE:fifo,ignoreeof keeps reading the FIFO when its writer goes and another comes', inTempDir(async (dir) => {
    const fifo = join(dir, 'fifo');
    mkfifo(fifo);
    const p = background(['-u', '-T', '1.5', `PIPE:${fifo},ignoreeof`, 'STDOUT']);
    const first = await open(fifo, 'w');
    await first.write('one\n');
    await first.close();
    await waitFor(() => p.output() === 'one\n');
    const second = await open(fifo, 'w');
    await second.write('two\n');
    await second.close();
    await waitFor(() => p.output() === 'one\ntwo\n');
    expect((await exited(p, Date.now())).status).toBe(0);
  }));

  it('- OPEN:file,ignoreeof: the file goes on being read after stdin ended (its descriptor is shared by both ways); ends after -t, status 0, as socat', inTempDir(async (dir) => {
    const file = join(dir, 'both');
    writeFileSync(file, 'hi\n');
    const t0 = Date.now();
    const r = await tsocat(['-t', '0.5', '-', `OPEN:${file},ignoreeof`], { input: 'x\n', timeoutMs: 8000 });
    // before: the writer closed the shared descriptor at stdin's end and the reader got `E read(…): Bad file descriptor`
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect((Date.now() - t0) / 1000).toBeGreaterThanOrEqual(0.5);
    expect(readFileSync(file, 'utf8')).toContain('x\n');
  }));

  it('TCP-LISTEN,fork OPEN:file (both ways on one descriptor): every session closes its descriptor', inTempDir(async (dir) => {
    const file = join(dir, 'shared');
    writeFileSync(file, '');
    const port = await freePort();
    // append: each session's write lands at the end, whatever its read of the file did to the offset
    const p = background([`TCP-LISTEN:${port},reuseaddr,fork`, `OPEN:${file},append`]);
    await waitForPort(port);
    const openOnFile = () => readdirSync(`/proc/${p.pid}/fd`).filter((fd) => { try { return readlinkSync(`/proc/${p.pid}/fd/${fd}`) === file; } catch { return false; } }).length;
    for (let i = 0; i < 8; i++) {
      const c = connect({ port, host: '127.0.0.1' });
      c.on('data', () => {});
      await new Promise<void>((resolve, reject) => {
        c.once('error', reject);
        c.once('close', () => resolve());
        c.end(`s${i}\n`);
      });
    }
    // each session wrote its line through the shared descriptor (a client sees its connection close once
    // both sides sent FIN, which can be before its session's write to the file is done: waited for)
    const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean).sort();
    await waitFor(() => lines().length === 8, 5000, 'the eight lines in the file');
    expect(lines()).toEqual([...Array(8).keys()].map((i) => `s${i}`));
    // before: the writer left the descriptor open (autoClose off for the shared one): 8 left
    await waitFor(() => openOnFile() === 0, 5000, 'no descriptor left open on the file');
  }));

  it('STDIN,ignoreeof on a pipe whose writer closed waits for -T, not for end of file', async () => {
    const t0 = Date.now();
    const p = background(['-u', '-T', '0.8', 'STDIN,ignoreeof', 'STDOUT']);
    p.stdin?.end('only\n');
    const end = await exited(p, t0);
    expect(p.output()).toBe('only\n');
    expect(end.status).toBe(0);
    expect(end.seconds).toBeGreaterThanOrEqual(0.8);
    expect(end.seconds).toBeLessThan(4);
  });

  it('ignoreeof does not hold the relay once the other side has ended (socat: EOF counts while closing)', async () => {
    const t0 = Date.now();
    const p = background(['-T', '10', 'SYSTEM:echo hi,ignoreeof', 'STDIO']);
    p.stdin?.end('x\n');
    const end = await exited(p, t0);
    expect(p.output()).toBe('hi\n');
    expect(end.seconds).toBeLessThan(5);
  });
});

describe('line ends, readbytes, escape', () => {
  it('cr: CR on the address is LF in the relay, both ways', async () => {
    expect((await tsocat(['-u', 'STDIN,cr', 'STDOUT'], { input: 'a\rb\r' })).stdout.toString()).toBe('a\nb\n');
    expect((await tsocat(['-u', 'STDIN', 'STDOUT,cr'], { input: 'a\nb\n' })).stdout.toString()).toBe('a\rb\r');
  });

  it('crnl: CR LF on the address is LF in the relay, both ways', async () => {
    expect((await tsocat(['-u', 'STDIN,crnl', 'STDOUT'], { input: 'a\r\nb\r\n' })).stdout.toString()).toBe('a\nb\n');
    expect((await tsocat(['-u', 'STDIN', 'STDOUT,crlf'], { input: 'a\nb\n' })).stdout.toString()).toBe('a\r\nb\r\n');
  });

  it('readbytes=5 passes 5 bytes and then ends as at end of file', async () => {
    const r = await tsocat(['-u', 'STDIN,readbytes=5', 'STDOUT'], { input: '0123456789' });
    expect(r.stdout.toString()).toBe('01234');
    expect(r.status).toBe(0);
  });

  it('escape=0x1b ends the input at that byte, which is not passed on', async () => {
    const r = await tsocat(['-u', 'STDIN,escape=0x1b', 'STDOUT'], { input: 'before\x1bafter' });
    expect(r.stdout.toString()).toBe('before');
    expect(r.status).toBe(0);
  });
});

describe('ending a direction: end-close, shut-*, cool-write', () => {
  it('end-close leaves the program running when the relay ends; it finishes its work', inTempDir(async (dir) => {
    const mark = join(dir, 'done');
    const r = await tsocat(['-u', '-', `SYSTEM:sleep 0.6; echo finished >${mark},end-close`], { input: 'x' });
    expect(r.status).toBe(0);
    await waitFor(() => existsSync(mark) && readFileSync(mark, 'utf8') === 'finished\n', 5000);
  }));

  // the program reports whether its input ended; -t gives it time to say so
  for (const shut of ['shut-none', 'shut-null']) {
    it(`${shut}: the other side's end of file is not passed on to the program`, async () => {
      const r = await tsocat(['-t', '1', '-', `SYSTEM:cat; echo input-ended,${shut}`], { input: 'data\n' });
      expect(r.stdout.toString()).toBe('data\n');
    });
  }

  it('without shut-*, the program sees end of file (the baseline for the cases above)', async () => {
    const r = await tsocat(['-t', '1', '-', 'SYSTEM:cat; echo input-ended'], { input: 'data\n' });
    expect(r.stdout.toString()).toBe('data\ninput-ended\n');
  });

  it('shut-close: once the other side has ended, the connection is closed, so what the peer sends after is not relayed', async () => {
    // reads until tsocat's end of data, then answers late
    const server: Server = createServer((s) => {
      s.on('error', () => {});
      s.resume();
      s.once('end', () => s.end('late\n'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const closed = await tsocat(['-t', '1', '-', `TCP4:127.0.0.1:${port},shut-close`], { input: 'hi\n' });
      expect(closed.stdout.toString()).toBe('');
      expect(closed.status).toBe(0);
      // the baseline: the default half-close (shut-down on a socket) still takes the late answer
      const halfClosed = await tsocat(['-t', '1', '-', `TCP4:127.0.0.1:${port}`], { input: 'hi\n' });
      expect(halfClosed.stdout.toString()).toBe('late\n');
    } finally {
      server.close();
    }
  });

  it('cool-write: a reader that resets the connection ends the relay with status 0 and no error', async () => {
    // takes one chunk, then resets the connection, so tsocat's later writes fail
    const server: Server = createServer((s) => s.once('data', () => s.resetAndDestroy()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const big = Buffer.alloc(4 << 20, 0x61);
      const cool = await tsocat(['-u', '-', `TCP4:127.0.0.1:${port},cool-write`], { input: big, timeoutMs: 10000 });
      expect(cool.stderr).not.toMatch(/ E /);
      expect(cool.status).toBe(0);
      const plain = await tsocat(['-u', '-', `TCP4:127.0.0.1:${port}`], { input: big, timeoutMs: 10000 });
      expect(plain.stderr).toMatch(/ E write\(.*(Broken pipe|Connection reset by peer)/);
      expect(plain.status).toBe(1);
    } finally {
      server.close();
    }
  });
});

describe('a peer that resets while nothing is being written to it', () => {
  it('-u: the next write fails, one E line and status 1, as socat (the reset is not left for a reading direction that -u does not have)', async () => {
    let resets = 0;
    const server: Server = createServer((s) =>
      s.once('data', () => {
        s.resetAndDestroy();
        resets++;
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const p = background(['-u', '-', `TCP4:127.0.0.1:${port}`]);
      p.stdin?.write('a\n');
      await waitFor(() => resets === 1, 5000, 'the server resetting the connection');
      // the reset has reached tsocat's socket (no connection to the port is left in the kernel's table) while no write of its own is pending; input stays open
      const hex = port.toString(16).toUpperCase().padStart(4, '0');
      const connected = () => readFileSync('/proc/net/tcp', 'utf8').split('\n').some((l) => l.includes(`:${hex} `) && / 01 /.test(l));
      await waitFor(() => !connected(), 5000, 'the connection gone from /proc/net/tcp');
      p.stdin?.write('b\n');
      await waitFor(() => p.exitCode !== null, 5000, 'tsocat ending on the failed write');
      expect(p.errors()).toMatch(/ E write\(TCP AF=2 127\.0\.0\.1:\d+\): Connection reset by peer\n$/);
      expect(p.exitCode).toBe(1);
    } finally {
      server.close();
    }
  });
});

describe('timeouts: -T and -t', () => {
  it('-T 0.5 ends a transfer whose input stays open but idle, after 0.5 s and not before', async () => {
    const t0 = Date.now();
    const p = background(['-u', '-T', '0.5', 'STDIN', 'STDOUT']);
    p.stdin?.write('kept open\n'); // and never ended
    const end = await exited(p, t0);
    expect(p.output()).toBe('kept open\n');
    expect(end.status).toBe(0);
    expect(end.seconds).toBeGreaterThanOrEqual(0.4);
    expect(end.seconds).toBeLessThan(3);
  });

  it('-t 2 waits 2 s for a program that keeps its output open after its input ended', async () => {
    const p = background(['-t', '2', '-', 'SYSTEM:cat >/dev/null; echo still-here; exec sleep 30']);
    p.stdin?.end('x\n');
    // the wait starts when stdin's end reached the program (cat ends, the line comes): timed from there, not
    // from the spawn, so a slow start on a loaded machine cannot stretch the default 0.5 s past the lower bound
    await waitFor(() => p.output() === 'still-here\n', 10000, 'the program\'s line after its input ended');
    const end = await exited(p, Date.now());
    expect(end.status).toBe(0);
    expect(end.seconds).toBeGreaterThanOrEqual(1.7);
    expect(end.seconds).toBeLessThan(3);
  });
});

describe('directions: -u and -U', () => {
  it('-u copies address 1 to address 2 only: the file is not read back', inTempDir(async (dir) => {
    const file = join(dir, 'f');
    writeFileSync(file, 'old-content\n');
    const r = await tsocat(['-u', '-', `OPEN:${file}`], { input: 'NEW\n' });
    expect(r.stdout.toString()).toBe('');
    expect(readFileSync(file, 'utf8')).toBe('NEW\ncontent\n');
  }));

  it('-U copies address 2 to address 1 only: the file is not written', inTempDir(async (dir) => {
    const file = join(dir, 'f');
    writeFileSync(file, 'file-content\n');
    const r = await tsocat(['-U', '-', `OPEN:${file}`], { input: 'NEW\n' });
    expect(r.stdout.toString()).toBe('file-content\n');
    expect(readFileSync(file, 'utf8')).toBe('file-content\n');
  }));
});

describe('dumps and copies: -b -v -x -r -R', () => {
  it('-b 5 cuts 20 bytes into 4 blocks, as the -v block headers show', async () => {
    const r = await tsocat(['-b', '5', '-v', '-u', '-', 'STDOUT'], { input: '01234567890123456789' });
    expect(r.stdout.toString()).toBe('01234567890123456789');
    // a text dump adds no line end of its own, so a header may follow the data on the same line
    const headers = r.stderr.match(/> \S+ \S+  length=\d+ from=\d+ to=\d+/g) ?? [];
    expect(headers.map((h) => h.replace(/^.*length/, 'length'))).toEqual([
      'length=5 from=0 to=4',
      'length=5 from=5 to=9',
      'length=5 from=10 to=14',
      'length=5 from=15 to=19',
    ]);
  });

  it('-v shows the data as text on stderr', async () => {
    const r = await tsocat(['-v', '-u', '-', '/dev/null'], { input: 'hello\n' });
    expect(r.stderr).toMatch(/^> \S+ \S+  length=6 from=0 to=5\nhello\n$/);
  });

  it('-x shows the data in hex on stderr', async () => {
    const r = await tsocat(['-x', '-u', '-', '/dev/null'], { input: 'AB' });
    expect(r.stderr).toMatch(/^> \S+ \S+  length=2 from=0 to=1\n 41 42\s*\n/);
  });

  it('-r and -R copy each direction raw into a file', inTempDir(async (dir) => {
    const left = join(dir, 'left');
    const right = join(dir, 'right');
    const r = await tsocat(['-r', left, '-R', right, '-', 'SYSTEM:cat; echo from-program'], { input: 'to-program\n' });
    expect(r.stdout.toString()).toBe('to-program\nfrom-program\n');
    expect(readFileSync(left, 'utf8')).toBe('to-program\n');
    expect(readFileSync(right, 'utf8')).toBe('to-program\nfrom-program\n');
  }));
});

describe('-g, -S, --statistics', () => {
  it('-g accepts an option outside the address\'s groups (nodelay on a file)', inTempDir(async (dir) => {
    const file = join(dir, 'f');
    writeFileSync(file, 'content\n');
    const r = await tsocat(['-g', '-u', `OPEN:${file},nodelay`, 'STDOUT']);
    expect(r.stderr).not.toMatch(/not supported/);
    expect(r.stdout.toString()).toBe('content\n');
  }));

  it('-S 0 leaves SIGTERM unlogged: no "exiting on signal" line', async () => {
    const p = background(['-S', '0', '-u', 'STDIN', 'STDOUT']);
    p.stdin?.write('up\n');
    await waitFor(() => p.output() === 'up\n');
    await stop(p, 'SIGTERM');
    expect(p.errors()).not.toContain('exiting on signal');
  });

  it('--statistics logs the byte counts at the end', async () => {
    const r = await tsocat(['--statistics', '-u', '-', '/dev/null'], { input: 'abcd' });
    expect(r.stderr).toContain('STATISTICS: left to right: 1 packets(s), 4 byte(s)');
  });
});
