/**
 * FdWriter (src/engine/descriptors/fdstreams.ts): the writer of files and
 * devices, in place of fs.createWriteStream. Real files in a temporary
 * directory: bytes in order across single and gathered (writev) writes, the
 * descriptor's own offset (O_APPEND, earlier writes), backpressure, and who
 * closes the descriptor.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FdWriter } from '../../src/engine/descriptors/fdstreams.js';
import { tempDir } from '../helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function file(name: string, flags: number): { path: string; fd: number } {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const path = join(t.dir, name);
  return { path, fd: openSync(path, flags, 0o600) };
}

const finished = (w: FdWriter, event: 'finish' | 'close') => new Promise<void>((resolve, reject) => {
  w.once(event, () => resolve());
  w.once('error', reject);
});

const isOpen = (fd: number) => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

describe('FdWriter', () => {
  it('writes single and gathered chunks in order at the descriptor offset, then closes the descriptor (autoClose)', async () => {
    const { path, fd } = file('out', constants.O_WRONLY | constants.O_CREAT);
    writeSync(fd, 'head:');
    const w = new FdWriter(fd, true);
    const closed = finished(w, 'close');
    w.write('one,');
    // corked writes reach _writev as one gathered write
    w.cork();
    w.write('two,');
    w.write(Buffer.from('three,'));
    w.write('four');
    w.uncork();
    w.end();
    await closed;
    expect(readFileSync(path, 'latin1')).toBe('head:one,two,three,four');
    expect(isOpen(fd)).toBe(false);
  });

  it('appends on an O_APPEND descriptor and leaves it open without autoClose', async () => {
    const { path, fd } = file('log', constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND);
    cleanups.push(() => closeSync(fd));
    writeSync(fd, 'first\n');
    const w = new FdWriter(fd, false);
    const done = finished(w, 'finish');
    w.end('second\n');
    await done;
    expect(isOpen(fd)).toBe(true);
    writeSync(fd, 'third\n');
    expect(readFileSync(path, 'latin1')).toBe('first\nsecond\nthird\n');
  });

  it('signals backpressure past its high-water mark and drains every byte', async () => {
    const { path, fd } = file('big', constants.O_WRONLY | constants.O_CREAT);
    const w = new FdWriter(fd, true);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    expect(w.write(chunk)).toBe(false);
    await new Promise<void>((resolve) => w.once('drain', () => resolve()));
    for (let i = 0; i < 15; i++) w.write(chunk);
    const closed = finished(w, 'close');
    w.end();
    await closed;
    expect(readFileSync(path).length).toBe(16 * chunk.length);
  });
});
