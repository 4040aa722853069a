/**
 * A forking relay at -d -d: one N line as each session ends, with the peer,
 * how long the session ran and the bytes each way (socat's children log their
 * own exit; tsocat's sessions are not processes).
 * -t 5: a loaded machine may take longer than the default 0.5 s to start cat.
 */
import { describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, stop, tcpExchange, waitFor, waitForPort } from '../helpers.js';

const start = backgroundStarter();
const END_LINE = / N session with TCP AF=2 127\.0\.0\.1:(\d+) ended after (\d+\.\d{3}) s: (\d+) bytes from it, (\d+) bytes to it\n/g;

describe('session end line', () => {
  it('-d -d TCP-LISTEN:<port>,fork EXEC:cat: one N line per session, with the bytes each way', async () => {
    const port = await freePort();
    const p = start(['-d', '-d', '-t', '5', `TCP-LISTEN:${port},reuseaddr,fork`, 'EXEC:cat']);
    await waitForPort(port);
    expect((await tcpExchange(port, 'hello\n', { halfClose: true })).toString()).toBe('hello\n');
    expect((await tcpExchange(port, 'x'.repeat(5000), { halfClose: true })).length).toBe(5000);
    await waitFor(() => [...p.errors().matchAll(END_LINE)].length === 2, 5000, 'two session end lines');
    const ends = [...p.errors().matchAll(END_LINE)].map((m) => ({ seconds: Number(m[2]), from: Number(m[3]), to: Number(m[4]) }));
    expect(ends.map(({ from, to }) => [from, to])).toEqual([
      [6, 6],
      [5000, 5000],
    ]);
    for (const { seconds } of ends) expect(seconds).toBeLessThan(5);
  });

  it('with fork on address 2, the peer is the right side: bytes from the peer are right to left', async () => {
    const port = await freePort();
    // address 1 is a program that says 3 bytes and reads what comes; the peer sends 4
    const p = start(['-d', '-d', '-t', '5', 'SYSTEM:printf abc; cat >/dev/null', `TCP-LISTEN:${port},reuseaddr,fork`]);
    await waitForPort(port);
    expect((await tcpExchange(port, 'wxyz', { halfClose: true, timeoutMs: 3000 }).catch(() => Buffer.from(''))).length).toBeLessThanOrEqual(3);
    await waitFor(() => [...p.errors().matchAll(END_LINE)].length === 1, 5000, 'a session end line');
    const [m] = [...p.errors().matchAll(END_LINE)];
    expect(Number(m?.[3])).toBe(4);
  });

  it('at the default level (-d) there is no such line', async () => {
    const port = await freePort();
    const p = start(['-d', '-t', '5', `TCP-LISTEN:${port},reuseaddr,fork`, 'EXEC:cat']);
    await waitForPort(port);
    expect((await tcpExchange(port, 'hello\n', { halfClose: true })).toString()).toBe('hello\n');
    // the session is over (the reply ended with the relay's close); once tsocat has exited, everything it logged is in
    await stop(p);
    expect(p.errors()).toMatch(/W exiting on signal 15\n$/);
    expect(p.errors()).not.toContain('session with');
  });
});
