/**
 * The harness itself: a hang must never pass as an answer. A run killed at its
 * timeout rejects, and a TCP peer that never closes is not an empty reply.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exited, NoCloseInTime, ROOT, run, startTsocat, stop, tcpExchange, waitFor } from '../helpers.js';
import { eachCallsSkippingThroughContext } from '../skip-guard.js';

describe('run()', () => {
  it('rejects when the process is still running at its timeout, with what it said so far', async () => {
    // (whether "started" arrived before the kill depends on the machine's load: only the report's shape is checked)
    await expect(run('sh', ['-c', 'echo started; exec sleep 10'], { timeoutMs: 300 })).rejects.toThrow(/^still running after 300 ms, killed: sh -c echo started; exec sleep 10\nstdout so far: /);
  });

  it('resolves with killedAtTimeout when the test expects the kill', async () => {
    const r = await run('sh', ['-c', 'exec sleep 10'], { timeoutMs: 300, expectKill: true });
    expect(r).toMatchObject({ killedAtTimeout: true, signal: 'SIGKILL', status: null });
  });

  it('an ordinary end is not a kill', async () => {
    expect(await run('sh', ['-c', 'exit 3'])).toMatchObject({ killedAtTimeout: false, status: 3 });
  });
});

describe('tcpExchange()', () => {
  async function server(onConnection: (s: Socket) => void): Promise<{ port: number; close: () => void }> {
    const sockets = new Set<Socket>();
    const srv = createServer({ allowHalfOpen: true }, (s) => {
      sockets.add(s);
      s.on('error', () => {});
      onConnection(s);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return {
      port: (srv.address() as AddressInfo).port,
      close: () => {
        for (const s of sockets) s.destroy();
        srv.close();
      },
    };
  }

  it('resolves with the reply when the peer closes', async () => {
    const echo = await server((s) => s.pipe(s));
    try {
      expect((await tcpExchange(echo.port, 'ping\n')).toString()).toBe('ping\n');
    } finally {
      echo.close();
    }
  });

  it('rejects with NoCloseInTime, holding what came, when the peer answers but never closes', async () => {
    const hang = await server((s) => s.write('partial'));
    try {
      const err = await tcpExchange(hang.port, 'x', { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoCloseInTime);
      expect((err as NoCloseInTime).received.toString()).toBe('partial');
    } finally {
      hang.close();
    }
  });
});

describe('exited()', () => {
  it('rejects when the process does not end by itself in time', async () => {
    const p = startTsocat(['PIPE', 'PIPE']);
    try {
      await expect(exited(p, 300)).rejects.toThrow(/still running after 300 ms/);
    } finally {
      await stop(p);
    }
  });
});

describe('waits end before the test does', () => {
  it('a wait asked for longer than the test\'s own timeout ends first, with its own message', async () => {
    const started = Date.now();
    await expect(waitFor(() => false, 60000, 'a thing that never comes')).rejects.toThrow(/^a thing that never comes not met in time \(\d+ ms\)$/);
    // the test's timeout is 2.5 s and the helpers leave 1 s of it: the wait ended near 1.5 s, not at 60 s nor at vitest's 2.5 s
    expect(Date.now() - started).toBeLessThan(2000);
  }, 2500);

  it('a run asked to wait longer than the test is killed before the test times out, and says so', async () => {
    await expect(run('sh', ['-c', 'exec sleep 10'], { timeoutMs: 60000 })).rejects.toThrow(/^still running after \d+ ms, killed: sh -c exec sleep 10/);
  }, 2500);
});

describe('skips', () => {
  it('every skip goes through the helpers that print its reason, none through vitest\'s own skip modifiers', () => {
    const files = readdirSync(join(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
      // setup.ts skips the tests outside an ablation round's plan (scripts/ablate.mjs): no requirement is missing there
      .filter((f) => f.endsWith('.ts') && f !== 'helpers.ts' && f !== 'setup.ts')
      .map((f) => join(ROOT, 'test', f));
    const silent = /\b(?:it|test|describe)(?:\.\w+)*\.(?:skip|skipIf|runIf)\b|\bctx\.skip\(/;
    const offenders = files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => `${relative(ROOT, file)}:${i + 1}: ${line.trim()}`)
        .filter((line) => silent.test(line.slice(line.indexOf(': ') + 2))),
    );
    expect(offenders).toEqual([]);
  });

  const testFiles = () =>
    readdirSync(join(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => join(ROOT, 'test', f));

  it('no parameterised test skips through a context that .each never passes (use .for, which passes it)', () => {
    const offenders = testFiles().flatMap((file) => eachCallsSkippingThroughContext(readFileSync(file, 'utf8')).map((line) => `${relative(ROOT, file)}:${line}`));
    expect(offenders).toEqual([]);
  });

  it('the guard sees such a call, and lets .for and context-free .each calls through', () => {
    const bad = "it.each([['a'], ['b(']])('case %s', async (x, ctx) => {\n  skipBecause(ctx, 'no tool');\n});";
    const multiLine = "describe('x', () => {\n  it.each([\n    ['a', [[1, 2]]],\n  ] as Array<[string, number[][]]>)('case %s', async (a, b, ctx) => {\n    requireOrSkip(ctx, 'socat');\n  });\n});";
    expect(eachCallsSkippingThroughContext(bad)).toEqual([1]);
    expect(eachCallsSkippingThroughContext(multiLine)).toEqual([2]);
    expect(eachCallsSkippingThroughContext("it.for([['a']])('case %s', async ([x], ctx) => { skipBecause(ctx, 'no'); });")).toEqual([]);
    expect(eachCallsSkippingThroughContext("it.each([1, 2])('n %i', (n) => { expect(n).toBeGreaterThan(0); });")).toEqual([]);
  });
});
