/**
 * --progress (issue 21, item 4): a live line per direction on stderr for a
 * relay of one session: bytes exactly, the average rate, the time since the
 * start. Asked for with the flag (one line per second when stderr is not a
 * terminal); on by itself only when stderr is a terminal and -d -d is given,
 * never in a script.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { exited, requireOrSkip, startTsocat, stop, TSOCAT, tsocat, waitFor } from '../helpers.js';
import { Tmux } from '../pty-helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const LINE = /^progress: > (\d+) bytes \(([\d.]+) (B|KiB|MiB)\/s\)  < (\d+) bytes \(([\d.]+) (B|KiB|MiB)\/s\)  (\d+):(\d\d):(\d\d)$/;
const perSecond = (value: string, unit: string) => Number(value) * 1024 ** ['B', 'KiB', 'MiB'].indexOf(unit);

describe('--progress', () => {
  it('--progress - EXEC:cat: a line a second with the bytes each way (exact), their average rate and the time; a last one at the end', async () => {
    const relay = startTsocat(['--progress', '-', 'EXEC:cat']);
    cleanups.push(() => stop(relay));
    relay.stdin?.write(Buffer.alloc(100000, 'x'));
    await waitFor(() => relay.output().length === 100000, 5000, 'the echo');
    await waitFor(() => relay.errors().split('\n').some((l) => l.startsWith('progress: > 100000 bytes')), 5000, `a progress line with all the bytes (stderr: ${relay.errors()})`);
    relay.stdin?.end();
    expect(await exited(relay)).toBe(0);
    const lines = relay.errors().trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line).toMatch(LINE);
    const last = LINE.exec(lines.at(-1) as string) as RegExpExecArray;
    expect([Number(last[1]), Number(last[4])]).toEqual([100000, 100000]);
    // the rate is the average since the start: the bytes over the time the line's rate implies, 1 to 5 s here
    const seconds = 100000 / perSecond(last[2] as string, last[3] as string);
    expect(seconds).toBeGreaterThan(0.9);
    expect(seconds).toBeLessThan(5);
    expect(perSecond(last[5] as string, last[6] as string)).toBeCloseTo(perSecond(last[2] as string, last[3] as string), -2);
  });

  it('-u shows the one direction that moves', async () => {
    const relay = startTsocat(['--progress', '-u', '-', 'SYSTEM:cat >/dev/null']);
    cleanups.push(() => stop(relay));
    relay.stdin?.write('twelve bytes');
    await waitFor(() => /^progress: > 12 bytes \([\d.]+ B\/s\)  0:00:\d\d$/m.test(relay.errors()), 5000, `the line (stderr: ${relay.errors()})`);
    relay.stdin?.end();
    expect(await exited(relay)).toBe(0);
  });

  it('is off without the flag when stderr is not a terminal, with -d -d too (a script never gets it)', async () => {
    const r = await tsocat(['-d', '-d', '-', 'EXEC:cat'], { input: 'hello\n', timeoutMs: 8000 });
    expect(r.stdout.toString()).toBe('hello\n');
    expect(r.stderr).toMatch(/ N exiting with status 0\n$/);
    expect(r.stderr).not.toMatch(/progress/);
  });

  it('is on by itself when stderr is a terminal and -d -d is given, and off there without -d -d', async (ctx) => {
    requireOrSkip(ctx, 'tmux');
    const on = new Tmux(`${process.execPath} ${TSOCAT} -d -d -u - 'SYSTEM:cat >/dev/null'; echo EXIT=$?; sleep 30`);
    cleanups.push(() => on.close());
    await on.waitFor(/starting data transfer loop/);
    on.keys('hello', 'Enter');
    // the line redrawn in place on the terminal: "hello\n" is 6 bytes
    await on.waitFor(/progress: > 6 bytes \([\d.]+ B\/s\)  0:00:\d\d/);
    on.keys('C-d');
    const screen = await on.waitFor(/EXIT=0/);
    // a log line clears the progress line before it is written: no log line starts with progress text
    for (const l of screen.split('\n').filter((x) => / N /.test(x))) expect(l).toMatch(/^\d{4}\/\d\d\/\d\d /);

    const off = new Tmux(`${process.execPath} ${TSOCAT} -u - 'SYSTEM:cat >/dev/null'; echo EXIT=$?; sleep 30`);
    cleanups.push(() => off.close());
    await new Promise((r) => setTimeout(r, 300));
    off.keys('hello', 'Enter');
    // more than one progress interval with bytes moved, then the end: no progress line at any time
    await new Promise((r) => setTimeout(r, 1500));
    off.keys('C-d');
    expect(await off.waitFor(/EXIT=0/)).not.toMatch(/progress/);
  }, 30000);

  it('refuses --progress with fork on address 1, and a value for it, in one E line with status 1', async () => {
    const strip = (stderr: string) => stderr.replace(/^\S+ \S+ tsocat\[\d+\] /gm, '');
    const cases: Array<[string[], string]> = [
      [['--progress', 'TCP-LISTEN:0,bind=127.0.0.1,fork', 'PIPE'], 'E --progress shows one session; address 1 has fork (--statistics or --metrics count every session)\n'],
      [['--progress=1', '-', 'PIPE'], 'E unknown option "--progress=1"; use option "-h" for help\n'],
    ];
    for (const [args, expected] of cases) {
      const r = await tsocat(args, { input: '' });
      expect(strip(r.stderr), args.join(' ')).toBe(expected);
      expect(r.status).toBe(1);
    }
  });
});
