/**
 * FD:<n> and ACCEPT-FD:<n> take a descriptor the caller handed down. In a
 * process started with only stdio, descriptors 3 and up are Node's own
 * (libuv's epoll set, eventfds, signal pipes): tsocat refuses them with one
 * line and status 1 instead of reading or closing them, which made libuv abort
 * (SIGABRT). A descriptor really inherited at those numbers still works.
 */
import type { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { exited, startTsocat, stop, tsocat } from '../helpers.js';

const LOG_LINE = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d tsocat\[\d+\] E (.*)\n$/;

describe('a descriptor of Node runtime is refused, never touched', () => {
  it('FD:3 - (libuv epoll descriptor): one E line, status 1, no abort', async () => {
    const r = await tsocat(['FD:3', '-'], { input: 'x\n', timeoutMs: 8000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr.match(LOG_LINE)?.[1], r.stderr).toBe("fstat(3): Bad file descriptor (not inherited: Node's runtime holds anon_inode:[eventpoll] there)");
  });

  it('ACCEPT-FD:3 (libuv epoll descriptor): one E line, status 1', async () => {
    const r = await tsocat(['ACCEPT-FD:3', '-'], { input: '', timeoutMs: 8000 });
    expect(r.status).toBe(1);
    expect(r.stderr.match(LOG_LINE)?.[1], r.stderr).toBe("accept(3): Bad file descriptor (not inherited: Node's runtime holds anon_inode:[eventpoll] there)");
  });

  // 3 to 17 are what Node 20 opens for itself in a process with only stdio (three event loops: epoll, pipes, eventfd each)
  it.for(Array.from({ length: 15 }, (_, i) => i + 3))('FD:%i - ends with status 1 and one E line, never a signal', async (n) => {
    const r = await tsocat([`FD:${n}`, '-'], { input: 'x\n', timeoutMs: 8000 });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.match(LOG_LINE)?.[1], r.stderr).toMatch(new RegExp(`^fstat\\(${n}\\): Bad file descriptor`));
  });
});

describe('a descriptor really inherited at a low number', () => {
  it('FD:3 handed down as a pipe is read to its end', async () => {
    const child = startTsocat(['-u', 'FD:3', 'STDOUT'], { pipeAsFd3: true });
    try {
      (child.stdio[3] as Writable).end('handed down\n');
      expect(await exited(child, 8000), child.errors()).toBe(0);
      expect(child.output()).toBe('handed down\n');
    } finally {
      await stop(child);
    }
  });
});
