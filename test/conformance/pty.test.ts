/**
 * The endpoint contract for PTY, SERIAL and READLINE: opened through the
 * library, bytes written to the endpoint come out at the far side of the
 * terminal and back.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testPty } from '../pty-helpers.js';
import { asEndpoint, openAddress, tsocat } from './suite.js';

/** Reads until `n` bytes came (a pty master is non-blocking: EAGAIN means not yet), for at most 5 s. */
async function readExactly(fd: number, n: number): Promise<Buffer> {
  const out = Buffer.alloc(n);
  let got = 0;
  const deadline = Date.now() + 5000;
  while (got < n && Date.now() < deadline) {
    try {
      got += readSync(fd, out, got, n - got, null);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EAGAIN') throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  return out.subarray(0, got);
}

describe('endpoint contract: PTY', () => {
  it('bytes written to the master reach a program on the slave, and its bytes come back', async () => {
    const ep = asEndpoint(await openAddress('PTY,raw,echo=0'));
    const slavePath = ep.description.replace(/^PTY /, '');
    const slave = openSync(slavePath, 'r+');
    try {
      ep.writable?.write(Buffer.from([0, 1, 255, 10]));
      expect([...(await readExactly(slave, 4))]).toEqual([0, 1, 255, 10]);
      const back = new Promise<Buffer>((resolve) => ep.readable?.once('data', resolve));
      writeSync(slave, 'up');
      expect((await back).toString()).toBe('up');
    } finally {
      closeSync(slave);
      await ep.close();
    }
  });
});

describe('endpoint contract: SERIAL', () => {
  it('a pty slave opened as a serial line: bytes both ways', async () => {
    const pty = testPty();
    const ep = asEndpoint(await openAddress(`SERIAL:${pty.path},b115200,raw,echo=0`));
    try {
      ep.writable?.write('to-line');
      expect((await readExactly(pty.master, 7)).toString()).toBe('to-line');
      const back = new Promise<Buffer>((resolve) => ep.readable?.once('data', resolve));
      writeSync(pty.master, 'from-line');
      expect((await back).toString()).toBe('from-line');
    } finally {
      await ep.close();
      closeSync(pty.slave);
      closeSync(pty.master);
    }
  });
});

describe('endpoint contract: READLINE', () => {
  it('without a terminal it relays lines from stdin, one per Enter', async () => {
    const r = await tsocat(['-u', 'READLINE', '-'], { input: 'one\ntwo\n' });
    expect(r.stdout.toString()).toBe('one\ntwo\n');
    expect(r.status).toBe(0);
  });
});
