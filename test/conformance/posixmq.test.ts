/**
 * POSIXMQ keeps the datagram contract: one write is one message, one read
 * takes one message whole, in priority order. Every keyword is opened here
 * through the command (the coverage check counts what suite.ts's tsocat()
 * opened); end-to-end cases are in test/integration/posixmq.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { testQueues } from '../mqueue-helpers.js';
import { tsocat } from './suite.js';

const queue = testQueues('conformance');

describe('endpoint contract: POSIXMQ', () => {
  it('SEND and WRITE put one message per write; RECEIVE takes exactly one, READ the rest, highest priority first', async () => {
    const q = queue();
    expect((await tsocat(['-u', '-', `POSIXMQ-SEND:${q},mq-prio=1`], { input: 'low\n' })).status).toBe(0);
    expect((await tsocat(['-u', '-', `POSIXMQ-WRITE:${q},mq-prio=5`], { input: 'high\n' })).status).toBe(0);
    expect((await tsocat(['-u', '-', `POSIXMQ-SEND:${q},mq-prio=3`], { input: 'middle\n' })).status).toBe(0);
    const one = await tsocat(['-u', `POSIXMQ-RECEIVE:${q}`, '-']);
    expect(one).toMatchObject({ status: 0, stdout: Buffer.from('high\n') });
    const rest = await tsocat(['-u', '-T', '0.3', `POSIXMQ-READ:${q}`, '-']);
    expect(rest).toMatchObject({ status: 0, stdout: Buffer.from('middle\nlow\n') });
  });

  it('BIDIRECTIONAL writes and reads one queue', async () => {
    const q = queue();
    const r = await tsocat(['-T', '0.3', '-', `POSIXMQ-BIDIRECTIONAL:${q}`], { input: 'round trip\n' });
    expect(r).toMatchObject({ status: 0, stdout: Buffer.from('round trip\n') });
  });

  it('a name without a leading slash: one E line, status 1', async () => {
    const r = await tsocat(['-u', 'POSIXMQ-READ:noslash', '-']);
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/ E POSIXMQ-READ: mq_open\("noslash", \d+, 0666, NULL\): Invalid argument\n$/);
  });
});
