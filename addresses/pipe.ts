/**
 * PIPE: without a name, an echo pipe (what is written comes back); with a
 * name, a FIFO in the file system, created if missing.
 */
import { closeSync, constants, statSync, unlinkSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { defineAddress } from '../src/define.js';
import { makeEndpoint } from '../src/engine/endpoint.js';
import { applyFdOptions, applyNamedOptions } from '../src/engine/fdopts.js';
import { streamsForFd } from '../src/engine/fdstreams.js';
import { logOpening, openPathAsync } from '../src/engine/open-path.js';
import { systemError } from '../src/errors.js';

function removeFifo(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

export default defineAddress({
  names: ['PIPE', 'FIFO', 'ECHO'],
  params: ['filename'],
  minParams: 0,
  groups: ['FD', 'NAMED', 'OPEN', 'FIFO', 'APPL'],
  features: ['PIPE'],
  summary: 'PIPE: an echo pipe; PIPE:<filename>: a named FIFO, created when missing',
  async open(req, ctx) {
    const path = req.params[0];
    if (path === undefined) {
      // An unnamed pipe only talks to itself; an in-process buffer with the same
      // byte order and EOF behaviour needs no descriptors at all.
      const pipe = new PassThrough({ highWaterMark: 65536 });
      return makeEndpoint({ readable: pipe, writable: pipe, description: 'PIPE', shutdownWrite: () => pipe.end() });
    }
    const o = req.options;
    let exists = false;
    try {
      exists = statSync(path).isFIFO();
    } catch {
      exists = false;
    }
    const created = !exists || o.bool('unlink-early');
    if (created) {
      const { mkfifo } = await import('../src/sys/libc.js');
      if (o.bool('unlink-early')) removeFifo(path);
      mkfifo(path, o.number('perm') ?? 0o666);
    }
    // Owner and mode go on the name before the open, which may wait long for the other end.
    applyNamedOptions(path, o);
    // socat removes a FIFO it made when the address closes, unless unlink-close=0
    const cleanUp = () => {
      if (created && (!o.has('unlink-close') || o.bool('unlink-close'))) removeFifo(path);
    };
    // O_RDWR on a FIFO never blocks and keeps it open for both directions, as socat does for read-write use.
    let flags = req.mode === 'r' ? constants.O_RDONLY : req.mode === 'w' ? constants.O_WRONLY : constants.O_RDWR;
    // nonblock applies to the open itself: a reader does not wait for a writer
    if (o.bool('o-nonblock')) flags |= constants.O_NONBLOCK;
    let fd: number;
    logOpening(ctx.log, path, flags);
    try {
      fd = await openPathAsync(path, flags, 0o666, ctx.signal);
    } catch (err) {
      cleanUp();
      throw systemError(`open("${path}", 0${flags.toString(8)}, 0666)`, err);
    }
    try {
      await applyFdOptions(fd, o);
    } catch (err) {
      closeSync(fd);
      cleanUp();
      throw err;
    }
    const { readable, readFd, writable, socket } = streamsForFd(fd, req.mode, { autoClose: true, ignoreEof: o.bool('ignoreeof') });
    return makeEndpoint({
      readable,
      // ignoreeof reads on after a writer left, and a new writer may come
      readFd,
      writable,
      description: path,
      shutdownWrite: () => socket?.end(),
      close: async () => {
        socket?.destroy();
        cleanUp();
      },
    });
  },
});
