/**
 * POSIXMQ-* end to end with real Linux message queues: priority order,
 * RECEIVE taking one message per session (with fork, a session per message),
 * max-children, flush, the attributes of a new queue, and socat's error lines.
 * Every queue a test makes is removed after it (mq_unlink).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mqClose, mqGetattr, mqOpen, O_RDONLY } from '../../src/sys/mqueue.js';
import { backgroundStarter, tempDir, tsocat, waitFor } from '../helpers.js';
import { testQueues } from '../mqueue-helpers.js';

const start = backgroundStarter();
/** A queue name of this test run's own, unlinked after each test. */
const queue = testQueues('test');

/** How many messages wait in the queue now. */
function waiting(name: string): number {
  const mqd = mqOpen(name, O_RDONLY, 0);
  try {
    return mqGetattr(mqd).curmsgs;
  } finally {
    mqClose(mqd);
  }
}

/**
 * A program that notes in `log` when it starts and when it ends (tsocat ends one still running with SIGTERM
 * when its session closes); it does `work`, then waits `seconds` (or until it is ended).
 */
function script(dir: string, log: string, work: string, seconds = 30): string {
  const path = join(dir, 'prog.sh');
  writeFileSync(path, `trap 'echo end >>${log}; exit 0' TERM\necho start >>${log}\n${work}\nsleep ${seconds} &\nwait\necho end >>${log}\n`);
  return path;
}

const send = async (name: string, text: string, ...opts: string[]) => {
  const r = await tsocat(['-u', 'STDIO', [`POSIXMQ-SEND:${name}`, ...opts].join(',')], { input: text });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
};

describe('POSIXMQ', () => {
  it('POSIXMQ-READ delivers the higher mq-prio first, one message per read (test.sh POSIXMQ_READ_PRIO)', async () => {
    const q = queue();
    await send(q, 'low\n', 'mq-prio=0', 'unlink-early');
    await send(q, 'high\n', 'mq-prio=1');
    const reader = start(['-u', `POSIXMQ-READ:${q}`, 'STDIO']);
    await waitFor(() => reader.output() === 'high\nlow\n', 5000, 'both messages, the higher priority first');
    expect(waiting(q)).toBe(0);
  });

  it('POSIXMQ-BIDIRECTIONAL reads back what it writes: a program\'s line goes into the queue and comes back to it', async () => {
    const q = queue();
    const { dir, cleanup } = tempDir();
    try {
      const got = join(dir, 'got');
      const prog = join(dir, 'prog.sh');
      writeFileSync(prog, `echo ping\nread line\necho "back: $line" >${got}\n`);
      const r = await tsocat(['-t', '1', `POSIXMQ-BIDIRECTIONAL:${q}`, `SYSTEM:sh ${prog}`], { timeoutMs: 10000 });
      expect(r.status).toBe(0);
      expect(readFileSync(got, 'utf8')).toBe('back: ping\n');
      expect(waiting(q)).toBe(0);
    } finally {
      cleanup();
    }
  });

  it('POSIXMQ-RECEIVE without fork takes one message and ends, leaving the rest', async () => {
    const q = queue();
    await send(q, 'first\n', 'unlink-early');
    await send(q, 'second\n');
    const r = await tsocat(['-u', `POSIXMQ-RECEIVE:${q}`, 'STDIO']);
    expect(r.stdout.toString()).toBe('first\n');
    expect(r.status).toBe(0);
    expect(waiting(q)).toBe(1);
  });

  it('POSIXMQ-RECV with fork: one session per message, each with its priority as SOCAT_POSIXMQ_PRIO (test.sh POSIXMQ_RECV_FORK)', async () => {
    const q = queue();
    const receiver = start(['-u', `POSIXMQ-RECV:${q},unlink-early,fork`, 'SYSTEM:cat; echo prio=$SOCAT_POSIXMQ_PRIO']);
    await waitFor(() => receiver.errors() === '' && (() => { try { return waiting(q) === 0; } catch { return false; } })(), 5000, 'the queue made');
    await send(q, 'a\n', 'mq-prio=3');
    await send(q, 'b\n');
    await waitFor(() => receiver.output().split('\n').length >= 5, 5000, 'two sessions');
    expect(receiver.output()).toBe('a\nprio=3\nb\nprio=0\n');
  });

  it('POSIXMQ-RECV with fork,max-children=1 starts the next session only after the last one ended (test.sh POSIXMQ_RECV_MAXCHILDREN)', async () => {
    const q = queue();
    const { dir, cleanup } = tempDir();
    try {
      const log = join(dir, 'log');
      await send(q, 'm1\n', 'unlink-early');
      await send(q, 'm2\n');
      // each program notes its start and its end (tsocat ends it with SIGTERM when its session closes)
      const program = `SYSTEM:sh ${script(dir, log, 'cat >/dev/null')}`;
      start(['-u', `POSIXMQ-RECV:${q},fork,max-children=1`, program]);
      const lines = () => {
        try {
          return readFileSync(log, 'utf8').trim().split('\n');
        } catch {
          return [];
        }
      };
      await waitFor(() => lines().includes('start'), 8000, 'the first session');
      // both messages waited from the start: without the limit the second is taken at once, for a session of its
      // own; with it, the message stays queued while the first session runs (its program waits 30 s; the session
      // ends half a second after its message's end of file)
      expect(waiting(q)).toBe(1);
      await waitFor(() => lines().filter((l) => l === 'start').length === 2, 8000, 'the second session, once the first ended');
      expect(waiting(q)).toBe(0);
    } finally {
      cleanup();
    }
  });

  it('POSIXMQ-SEND with fork,max-children=1 and interval opens one session at a time (test.sh POSIXMQ_SEND_MAXCHILDREN)', async () => {
    const q = queue();
    const { dir, cleanup } = tempDir();
    try {
      const log = join(dir, 'log');
      const program = `SYSTEM:sh ${script(dir, log, 'echo msg', 1)}`;
      start(['-U', `POSIXMQ-SEND:${q},unlink-early,fork,max-children=1,interval=0.1`, program]);
      const lines = () => {
        try {
          return readFileSync(log, 'utf8').trim().split('\n');
        } catch {
          return [];
        }
      };
      await waitFor(() => lines().filter((l) => l === 'start').length >= 2, 8000, 'two sessions');
      expect(lines().slice(0, 3)).toEqual(['start', 'end', 'start']);
      expect(waiting(q)).toBeGreaterThanOrEqual(1);
    } finally {
      cleanup();
    }
  });

  it('mq-flush empties the queue before it is opened', async () => {
    const q = queue();
    await send(q, 'old\n', 'unlink-early');
    await send(q, 'new\n', 'mq-flush');
    const r = await tsocat(['-u', `POSIXMQ-RECEIVE:${q}`, 'STDIO']);
    expect(r.stdout.toString()).toBe('new\n');
    expect(waiting(q)).toBe(0);
  });

  it('mq-maxmsg and mq-msgsize make the new queue with those attributes; a longer message is refused', async () => {
    const q = queue();
    const r = await tsocat(['-d', '-d', '-d', '-u', 'STDIO', `POSIXMQ-SEND:${q},mq-maxmsg=3,mq-msgsize=16`], { input: 'x'.repeat(20) });
    expect(r.stderr).toContain(`I POSIXMQ queue "${q}" attrs: { flags=0, maxmsg=3, msgsize=16, curmsgs=0 }`);
    expect(r.stderr).toMatch(/E .*mq_send\(mqd=\d+\): Message too long/);
    expect(r.status).toBe(1);
  });

  it('only mq-msgsize: maxmsg comes from /proc, as the kernel would pick it', async () => {
    const q = queue();
    const byDefault = Number(readFileSync('/proc/sys/fs/mqueue/msg_default', 'utf8'));
    const r = await tsocat(['-d', '-d', '-d', '-u', 'STDIO', `POSIXMQ-SEND:${q},mq-msgsize=32`], { input: 'abc' });
    expect(r.stderr).toContain(`attrs: { flags=0, maxmsg=${byDefault}, msgsize=32, curmsgs=1 }`.replace('curmsgs=1', 'curmsgs=0'));
    expect(r.status).toBe(0);
  });

  it('a bad queue name, a missing queue and plain POSIXMQ both ways are refused with socat\'s line and status 1', async () => {
    const bad = await tsocat(['-u', 'POSIXMQ-READ:noslash', 'STDIO']);
    expect(bad.stderr).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d tsocat\[\d+\] E POSIXMQ-READ: mq_open\("noslash", 02000100, 0666, NULL\): Invalid argument\n$/);
    expect(bad.status).toBe(1);
    const missing = await tsocat(['-u', `POSIXMQ-READ:/tsocat-none-${process.pid},o-creat=0`, 'STDIO']);
    expect(missing.stderr).toContain(`E POSIXMQ-READ: mq_open("/tsocat-none-${process.pid}", 02000000, 0666, NULL): No such file or directory`);
    expect(missing.status).toBe(1);
    const plain = await tsocat([`POSIXMQ:${queue()}`, 'STDIO'], { input: '' });
    expect(plain.stderr).toContain('E Keyword "POSIXMQ" in bidirectional mode might unwanted flush the queue; use "POSIXMQ-BIDIRECTIONAL" to confirm usage');
    expect(plain.status).toBe(1);
    const option = await tsocat(['-u', `POSIXMQ-READ:${queue()},o-trunc`, 'STDIO']);
    expect(option.stderr).toContain('E option "o-trunc" does not apply to POSIXMQ-READ');
    expect(option.status).toBe(1);
  });
});
