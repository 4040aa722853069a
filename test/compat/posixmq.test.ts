/**
 * POSIXMQ command lines through tsocat and through socat 1.8 (built with
 * WITH_POSIXMQ; Debian's 1.7 has no message queues): the same messages in
 * give the same bytes out, the same exit status and the same error lines;
 * and a queue one of them writes is read by the other.
 */
import { describe, expect, it } from 'vitest';
import { testQueues } from '../mqueue-helpers.js';
import { run, SOCAT_18, socat18OrSkip, TSOCAT } from '../helpers.js';

type Tool = 'tsocat' | 'socat';
const TOOLS: Tool[] = ['tsocat', 'socat'];
const queue = testQueues('compat');

function runTool(tool: Tool, args: string[], input = '') {
  return tool === 'tsocat' ? run(process.execPath, [TSOCAT, ...args], { input }) : run(SOCAT_18 as string, args, { input });
}

/** An error line without its time stamp, program name and pid. */
const lineOf = (stderr: string) => stderr.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d (tsocat|socat)\[\d+\] /gm, '');

describe('POSIXMQ compared with socat 1.8', () => {
  it('the same command lines: mq-prio order, RECEIVE one message at a time, flush', async (ctx) => {
    socat18OrSkip(ctx, 'socat 1.8 with POSIXMQ');
    const results: Record<Tool, unknown[]> = { tsocat: [], socat: [] };
    for (const tool of TOOLS) {
      const q = queue();
      const steps: Array<[string[], string]> = [
        [['-u', 'STDIO', `POSIXMQ-SEND:${q},mq-prio=0,unlink-early`], 'low\n'],
        [['-u', 'STDIO', `POSIXMQ-WRITE:${q},mq-prio=7`], 'high\n'],
        [['-u', `POSIXMQ-RECEIVE:${q}`, 'STDIO'], ''],
        [['-u', 'STDIO', `POSIXMQ-SEND:${q},mq-prio=9`], 'top\n'],
        [['-u', `POSIXMQ-RECV:${q}`, 'STDIO'], ''],
        [['-u', 'STDIO', `POSIXMQ-SEND:${q},mq-flush`], 'after flush\n'],
        [['-u', `POSIXMQ-RECEIVE:${q},unlink-close`, 'STDIO'], ''],
      ];
      for (const [args, input] of steps) {
        const r = await runTool(tool, args, input);
        results[tool].push({ args: args.join(' ').replaceAll(q, 'Q'), status: r.status, stdout: r.stdout.toString(), stderr: lineOf(r.stderr) });
      }
    }
    expect(results.tsocat).toEqual(results.socat);
    expect(results.tsocat.map((r) => (r as { stdout: string }).stdout).join('')).toBe('high\ntop\nafter flush\n');
  });

  it('the same error lines and status: bad name, missing queue, plain POSIXMQ both ways, attributes of a new queue', async (ctx) => {
    socat18OrSkip(ctx, 'socat 1.8 with POSIXMQ');
    const cases = (q: string): string[][] => [
      ['-u', 'POSIXMQ-READ:noslash', 'STDIO'],
      ['-u', `POSIXMQ-READ:${q}-none,o-creat=0`, 'STDIO'],
      [`POSIXMQ:${q}`, 'STDIO'],
      ['-d', '-d', '-d', '-u', 'STDIO', `POSIXMQ-SEND:${q},mq-maxmsg=4,mq-msgsize=64,unlink-close`],
    ];
    const results: Record<Tool, unknown[]> = { tsocat: [], socat: [] };
    for (const tool of TOOLS) {
      const q = queue();
      for (const args of cases(q)) {
        const r = await runTool(tool, args);
        const lines = lineOf(r.stderr)
          .replaceAll(q, 'Q')
          .split('\n')
          .filter((l) => /^E |POSIXMQ queue/.test(l));
        results[tool].push({ args: args.join(' ').replaceAll(q, 'Q'), status: r.status, lines });
      }
    }
    expect(results.tsocat).toEqual(results.socat);
  });

  it('a queue written by one is read by the other, priorities kept', async (ctx) => {
    socat18OrSkip(ctx, 'socat 1.8 with POSIXMQ');
    for (const [writer, reader] of [
      ['tsocat', 'socat'],
      ['socat', 'tsocat'],
    ] as Array<[Tool, Tool]>) {
      const q = queue();
      await runTool(writer, ['-u', 'STDIO', `POSIXMQ-SEND:${q},unlink-early,mq-prio=1`], 'one\n');
      await runTool(writer, ['-u', 'STDIO', `POSIXMQ-SEND:${q},mq-prio=2`], 'two\n');
      const first = await runTool(reader, ['-u', `POSIXMQ-RECEIVE:${q}`, 'STDIO']);
      const second = await runTool(reader, ['-u', `POSIXMQ-RECEIVE:${q},unlink-close`, 'STDIO']);
      expect([first.stdout.toString(), second.stdout.toString(), first.status, second.status]).toEqual(['two\n', 'one\n', 0, 0]);
    }
  });
});
