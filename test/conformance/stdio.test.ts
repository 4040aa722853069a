/**
 * STDIO, STDIN, STDOUT, STDERR and TEXT are the process's own descriptors, so
 * their contract is checked through the command: bytes intact, end of input
 * ends the relay, and the shared descriptors are never closed under us.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tsocat } from './suite.js';

describe('endpoint contract: standard descriptors', () => {
  const data = randomBytes(1 << 20);

  it('STDIO round-trips through an echo PIPE, and end of input ends the relay', async () => {
    const r = await tsocat(['STDIO', 'PIPE'], { input: data });
    expect(r.status).toBe(0);
    expect(r.stdout.equals(data)).toBe(true);
  });

  it('STDIN to STDOUT with -u', async () => {
    const r = await tsocat(['-u', 'STDIN', 'STDOUT'], { input: data });
    expect(r.stdout.equals(data)).toBe(true);
  });

  it('STDERR receives what is written to it', async () => {
    const r = await tsocat(['-u', '-', 'STDERR'], { input: 'to stderr\n' });
    expect(r.stderr).toBe('to stderr\n');
    expect(r.stdout.length).toBe(0);
  });

  it('STDOUT has no read side: a bidirectional relay does not fail reading it', async () => {
    const r = await tsocat(['SYSTEM:echo hi; sleep 0.2', 'STDOUT'], { input: '' });
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe('hi\n');
    // socat warns about the missing direction, then relays the one there is (its read(1) failure is the difference)
    expect(r.stderr).toMatch(/^\S+ \S+ tsocat\[\d+\] W address is opened in read-write mode but only supports write-only\n$/);
  });

  it('TEXT reads its text, then end of file', async () => {
    const r = await tsocat(['-u', 'TEXT:hello\\n', '-']);
    expect(r.stdout.toString()).toBe('hello\n');
  });

  it('FD:0 and FD:1 are stdin and stdout', async () => {
    const r = await tsocat(['-u', 'FD:0', '1'], { input: data });
    expect(r.stdout.equals(data)).toBe(true);
  });
});
