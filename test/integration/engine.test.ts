/**
 * Engine behaviour seen from outside: signals, statistics, log destinations
 * and formats, the inactivity timeout, text dumps, and the library entry points.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAddress, relay } from '../../src/index.js';
import { createLogger, DEFAULT_LOG_CONFIG } from '../../src/log/logger.js';
import { backgroundStarter, exited, freePort, ROOT, run, sleep, stop, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';

const LOG_LINE = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d tsocat\[\d+\] [FEWNID] /;

const background = backgroundStarter();

describe('signals', () => {
  it('SIGTERM ends a listener with status 143 and a W line, as socat', async () => {
    const port = await freePort();
    const p = background(['-d', `TCP-LISTEN:${port},reuseaddr,fork`, 'STDOUT']);
    await waitForPort(port);
    const status = await stop(p, 'SIGTERM');
    expect(status).toBe(143);
    await waitFor(() => p.errors().length > 0, 2000);
    expect(p.errors()).toMatch(/^\S+ \S+ tsocat\[\d+\] W exiting on signal 15\n$/);
  });

  it('SIGTERM ends tsocat while it waits to open a FIFO that has no writer', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const fifo = join(dir, 'fifo');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const p = background(['-dd', '-u', `OPEN:${fifo}`, 'STDOUT']);
      await waitFor(() => p.errors().includes(`N opening named pipe "${fifo}" for reading`));
      // 143 (not the status of an end of its own) shows it was still waiting when the signal came
      expect(await stop(p, 'SIGTERM')).toBe(143);
      await waitFor(() => p.errors().includes('exiting on signal 15'), 2000);
      expect(p.errors()).not.toMatch(/ E /); // the cut-short open is not an error
    } finally {
      cleanup();
    }
  });

  it('a FIFO named twice in a dual address echoes (nonblock opens the reader without waiting)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const fifo = join(dir, 'p');
      // a FIFO read by itself never ends: -t ends the relay, after a second that leaves the echo time to come back
      const r = await tsocat(['-t', '1', '-', `PIPE:${fifo},nonblock!!PIPE:${fifo}`], { input: 'twice\n', timeoutMs: 5000 });
      expect(r).toMatchObject({ status: 0, stderr: '' });
      expect(r.stdout.toString()).toBe('twice\n');
    } finally {
      cleanup();
    }
  });

  it('-S chooses the signals that end tsocat with a line: signal 31 as E, status 159 (socat\'s SIG31_LOG)', async () => {
    // PIPE PIPE has no descriptor open; tsocat must still wait for a signal, as socat does
    const p = background(['-dd', '-S', '0x80000000', 'PIPE', 'PIPE']);
    await waitFor(() => p.errors().includes('N starting data transfer loop'));
    expect(await stop(p, 'SIGSYS')).toBe(159);
    expect(p.errors()).toMatch(/ E exiting on signal 31\n/);
  });

  it('-S 0 leaves SIGTERM to its default action: no line, killed by the signal', async () => {
    const p = background(['-dd', '-S', '0', 'PIPE', 'PIPE']);
    await waitFor(() => p.errors().includes('N starting data transfer loop'));
    expect(await stop(p, 'SIGTERM')).toBeNull();
    expect(p.signalCode).toBe('SIGTERM');
    expect(p.errors()).not.toContain('exiting on signal');
  });

  it('SIGUSR1 logs the statistics so far without ending the relay', async () => {
    const port = await freePort();
    const p = background([`TCP-LISTEN:${port},reuseaddr`, 'STDOUT']);
    await waitForPort(port);
    const client = connect({ port, host: '127.0.0.1' });
    client.on('error', () => {});
    client.write('twelve bytes');
    await waitFor(() => p.output() === 'twelve bytes');
    p.kill('SIGUSR1');
    await waitFor(() => p.errors().includes('right to left'));
    expect(p.errors()).toContain('W statistics are experimental');
    expect(p.errors()).toMatch(/I STATISTICS: left to right: 1 packets\(s\), 12 byte\(s\)/);
    expect(p.exitCode).toBeNull();
    client.destroy();
  });
});

describe('statistics', () => {
  it('--statistics reports both directions on exit, whatever -d says', async () => {
    const r = await tsocat(['--statistics', 'STDIO', 'PIPE'], { input: 'hello\n' });
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe('hello\n');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/I STATISTICS: left to right: 1 packets\(s\), 6 byte\(s\)$/);
    expect(lines[2]).toMatch(/I STATISTICS: right to left: 1 packets\(s\), 6 byte\(s\)$/);
  });

  it('-u reports only the direction that runs', async () => {
    const r = await tsocat(['-u', '--statistics', 'STDIO', 'STDOUT'], { input: 'abc' });
    expect(r.stderr).toContain('left to right');
    expect(r.stderr).not.toContain('right to left');
  });
});

describe('logging', () => {
  it('-lf writes log lines to the file and nothing to stderr', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const logFile = join(dir, 'log');
      const r = await tsocat(['-lf', logFile, 'TCP:127.0.0.1:1', '-']);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe('');
      expect(readFileSync(logFile, 'utf8')).toMatch(/ E connect\(AF=2 127\.0\.0\.1:1\): Connection refused\n$/);
    } finally {
      cleanup();
    }
  });

  it('-lp names the program in each line; -lu adds microseconds', async () => {
    const r = await tsocat(['-lp', 'relay7', '-lu', 'TCP:127.0.0.1:1', '-']);
    expect(r.stderr).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6} relay7\[\d+\] E /);
  });

  it('--log-format json writes one JSON object a line with socat\'s level and message', async () => {
    const r = await tsocat(['--log-format', 'json', 'TCP:127.0.0.1:1', '-']);
    expect(r.status).toBe(1);
    const entry = JSON.parse(r.stderr.trim());
    expect(entry).toMatchObject({ socatLevel: 'E', msg: 'connect(AF=2 127.0.0.1:1): Connection refused' });
  });

  it('-d -d shows notices that the default level hides', async () => {
    const quiet = await tsocat(['-', 'PIPE'], { input: 'x' });
    const loud = await tsocat(['-d', '-d', '-', 'PIPE'], { input: 'x' });
    expect(quiet.stderr).toBe('');
    expect(loud.stderr.split('\n').filter(Boolean).every((l) => LOG_LINE.test(l))).toBe(true);
    expect(loud.stderr).toMatch(/ N exiting with status 0\n$/);
  });
});

describe('timeouts and dumps', () => {
  it('-T ends a session that stays idle, with status 0', async () => {
    const p = background(['-dd', '-T', '0.3', `TCP-LISTEN:${await freePort()}`, 'SYSTEM:sleep 20']);
    // no client ever connects: -T applies to the transfer, not the accept. What is tested is a
    // span of time (twice -T, counted from the listen), so here a wait is the measure, not a guess
    await waitFor(() => p.errors().includes('listening on'));
    await sleep(600);
    expect(p.exitCode).toBeNull();
    // the program's stderr is tsocat's (as in socat): send it elsewhere so the run ends with tsocat
    const idle = background(['-T', '0.3', '-', 'SYSTEM:exec sleep 20 2>/dev/null']);
    expect(await exited(idle, 5000)).toBe(0);
  });

  it('-v prints each block as text with socat\'s header lines', async () => {
    const r = await tsocat(['-v', '-', 'PIPE'], { input: 'hello\n' });
    expect(r.stdout.toString()).toBe('hello\n');
    expect(r.stderr).toMatch(/^> \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6}  length=6 from=0 to=5\nhello\n< .* length=6 from=0 to=5\nhello\n$/s);
  });
});

describe('library', () => {
  it('relay() serves a forking listener until aborted; openAddress() connects to it', async () => {
    const port = await freePort();
    const controller = new AbortController();
    const log = createLogger({ ...DEFAULT_LOG_CONFIG, threshold: 5 });
    const serving = relay(`TCP-LISTEN:${port},reuseaddr,fork`, 'EXEC:cat', { signal: controller.signal, log });
    await waitForPort(port);
    const ep = await openAddress(`TCP:127.0.0.1:${port}`);
    expect(ep.kind).toBe('endpoint');
    if (ep.kind !== 'endpoint') return;
    const echoed = new Promise<string>((resolve) => {
      let got = '';
      ep.readable?.on('data', (d: Buffer) => {
        got += d.toString();
        if (got === 'ping\n') resolve(got);
      });
    });
    ep.writable?.write('ping\n');
    expect(await echoed).toBe('ping\n');
    await ep.close();
    controller.abort();
    expect(await serving).toBe(0);
  });

  it('the package entry (import from \'tsocat\', the built dist) runs a relay as the README shows', async () => {
    const program = [
      "import { relay, openAddress, parseAddress, TsocatError } from 'tsocat';",
      "const status = await relay('TEXT:from the library\\n', 'STDOUT', { settings: { direction: 'left-to-right' } });",
      "const refused = await openAddress('NOSUCH:x').catch((e) => e);",
      "console.log(status, parseAddress('TCP:h:1,nodelay').kind, refused instanceof TsocatError, refused.message);",
    ].join('\n');
    const r = await run(process.execPath, ['--input-type=module', '-e', program], { cwd: ROOT });
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe('from the library\n0 single true unknown device/address "NOSUCH"\n');
  });

  it('a user error rejects with TsocatError carrying socat\'s wording and status', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    await expect(openAddress(`TCP:127.0.0.1:${port}`)).rejects.toMatchObject({
      name: 'TsocatError',
      exitStatus: 1,
      message: `connect(AF=2 127.0.0.1:${port}): Connection refused`,
    });
  });
});
