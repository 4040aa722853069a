/**
 * SOCKETPAIR (socat 1.8): an echo over a socket pair. What goes in comes back;
 * the default type is datagram, so each message keeps its boundaries;
 * type= (so-type) picks stream (2 = dgram, 1 = stream, 5 = seqpacket).
 */
import { describe, expect, it } from 'vitest';
import { run, socat18OrSkip, tsocat } from '../helpers.js';


describe('SOCKETPAIR', () => {
  it('echoes what is written: tsocat - SOCKETPAIR', async () => {
    const r = await tsocat(['-', 'SOCKETPAIR'], { input: 'hello\nworld\n' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe('hello\nworld\n');
  });

  it('datagram by default: end of input cannot reach the other end, so the relay waits -t; type=1 (stream) and type=5 (seqpacket) pass it on at once', async () => {
    const timed = async (address: string) => {
      const began = Date.now();
      const r = await tsocat(['-t', '2', '-', address], { input: 'x', timeoutMs: 10000 });
      expect(r.stdout.toString(), address).toBe('x');
      expect(r.status, address).toBe(0);
      return Date.now() - began;
    };
    // a datagram socket has no shutdown: the relay ends when -t runs out
    expect(await timed('SOCKETPAIR')).toBeGreaterThanOrEqual(1900);
    expect(await timed('SOCKETPAIR,type=2')).toBeGreaterThanOrEqual(1900);
    // stream and seqpacket: shutdown(SHUT_WR) is end of file on the reading end
    expect(await timed('SOCKETPAIR,type=1')).toBeLessThan(1900);
    expect(await timed('SOCKETPAIR,socktype=5')).toBeLessThan(1900);
  });

  it('pf and protocol reach socketpair(): pf=2 is refused by the kernel, as in socat', async () => {
    const r = await tsocat(['-', 'SOCKETPAIR,pf=2']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('socketpair(2, SOCK_DGRAM, 0): Operation not supported');
    const p = await tsocat(['-', 'SOCKETPAIR,protocol=6']);
    expect(p.status).toBe(1);
    expect(p.stderr).toContain('socketpair(1, SOCK_DGRAM, 6): Protocol not supported');
  });

  it('bad input: a non-numeric type, an unknown protocol family, bind', async () => {
    for (const [addr, message] of [
      ['SOCKETPAIR,type=dgram', 'missing numerical value of option "type=dgram"'],
      ['SOCKETPAIR,pf=foo', 'unknown protocol family "foo"'],
      ['SOCKETPAIR,bind=x00', 'option "bind" does not apply to SOCKETPAIR'],
      ['SOCKETPAIR,type=99', 'socketpair(1, 99, 0): Invalid argument'],
      ['SOCKETPAIR:x', 'wrong number of parameters'],
    ] as const) {
      const r = await tsocat(['-', addr]);
      expect(r.status, addr).toBe(1);
      expect(r.stderr, addr).toContain(message);
      expect(r.stderr.trim().split('\n'), addr).toHaveLength(1);
    }
  });

  it('compared with socat 1.8.1: the same bytes for dgram, stream and seqpacket', async (ctx) => {
    const socat18 = socat18OrSkip(ctx, "socat 1.8 has SOCKETPAIR; Debian's 1.7.4 does not");
    for (const type of ['', ',type=1', ',type=2', ',type=5']) {
      const input = 'line one\nline two\n';
      const ours = await tsocat(['-', `SOCKETPAIR${type}`], { input });
      const theirs = await run(socat18, ['-', `SOCKETPAIR${type}`], { input });
      expect(ours.stdout.toString(), type).toBe(theirs.stdout.toString());
      expect(ours.status, type).toBe(theirs.status);
    }
  });
});
