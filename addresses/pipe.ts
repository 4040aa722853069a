/**
 * PIPE: without a name, an echo pipe (what is written comes back); with a
 * name, a FIFO in the file system, created if missing.
 */
import { closeSync, statSync } from 'node:fs';
import type { ResolvedOptions } from '../options/catalog.js';
import { type AddressRequest, defineAddress } from '../src/define.js';
import type { OpenContext } from '../src/engine/context.js';
import { type Endpoint, makeEndpoint } from '../src/engine/endpoint.js';
import { applyFdOptions, applyNamedOptions } from '../src/engine/descriptors/fdopts.js';
import { streamsForFd } from '../src/engine/descriptors/fdstreams.js';
import { accessFlags, logOpening, openedDirections, openFlags, openPathAsync, removeEntry } from '../src/engine/descriptors/open-path.js';
import { systemError, TsocatError } from '../src/errors.js';

/**
 * Options of the address's groups that have nothing to act on without a name:
 * socat fails on each of them for an unnamed pipe (as "INTERNAL ... not
 * implemented"); tsocat refuses them before anything is opened.
 */
const NAME_ONLY = ['unlink-early', 'unlink', 'unlink-late', 'unlink-close', 'o-creat', 'o-excl', 'o-trunc', 'o-rdonly', 'o-wronly', 'o-rdwr', 'o-noctty', 'o-nofollow', 'o-directory', 'o-direct', 'o-sync', 'o-dsync', 'o-rsync', 'o-largefile', 'user-early', 'group-early', 'perm-early'];

function refuseNameOnlyOptions(options: ResolvedOptions): void {
  const given = NAME_ONLY.find((name) => options.has(name));
  if (given) throw new TsocatError(`parseopts_table(): option "${given}" not supported with this address type`, 'EOPTGROUP');
}

/**
 * The unnamed pipe is a kernel pipe, as in socat: the FD options act on its
 * read end (fchmod, fchown, locks, pipe size), so they do what socat's do.
 */
async function openUnnamedPipe(options: ResolvedOptions): Promise<Endpoint> {
  refuseNameOnlyOptions(options);
  const { makePipe } = await import('../src/sys/libc.js');
  const [readEnd, writeEnd] = makePipe();
  try {
    await applyFdOptions(readEnd, options);
  } catch (err) {
    closeSync(readEnd);
    closeSync(writeEnd);
    throw err;
  }
  const { readable, source } = streamsForFd(readEnd, 'r', { autoClose: true, reusedBuffers: true });
  const { writable } = streamsForFd(writeEnd, 'w', { autoClose: true });
  return makeEndpoint({
    readable,
    source,
    writable,
    // nofork: the program reads the pipe and writes into it, as socat's exec'd program would (ECHO SYSTEM:…,nofork)
    handOver: {
      read: readEnd,
      write: writeEnd,
      // tsocat's copies go once the program holds its own
      release: () => {
        readable?.destroy();
        writable?.destroy();
      },
    },
    description: 'PIPE',
    // a pipe has no shutdown(): the read end sees end of file once the write end is closed
    shutdownWrite: () => writable?.end(() => writable.destroy()),
  });
}

function isFifo(path: string): boolean {
  try {
    return statSync(path).isFIFO();
  } catch {
    return false;
  }
}

async function openNamedPipe(req: AddressRequest, ctx: OpenContext, path: string): Promise<Endpoint> {
  const o = req.options;
  // unlink-early (before anything) and unlink (just before the open): a fresh FIFO replaces whatever was there
  if (o.bool('unlink-early')) removeEntry(path);
  if (o.bool('unlink')) removeEntry(path);
  const created = !isFifo(path);
  if (created) {
    const { mkfifo } = await import('../src/sys/libc.js');
    mkfifo(path, o.number('perm') ?? 0o666);
  }
  // perm is only the mode a new FIFO is made with (the umask applies), as in socat: an existing FIFO keeps its mode
  const afterCreation = o.without('perm');
  // The owner goes on the name before the open, which may wait long for the other end.
  applyNamedOptions(path, afterCreation);
  // socat removes a FIFO it made when the address closes, unless unlink-close=0
  const cleanUp = () => {
    if (!created || (o.has('unlink-close') && !o.bool('unlink-close'))) return;
    try {
      removeEntry(path);
    } catch {
      // closing goes on; the entry stays behind
    }
  };
  // O_RDWR on a FIFO never blocks and keeps it open for both directions, as socat does for read-write use;
  // rdonly/wronly/rdwr and the other OPEN options go into the open(2) flags as socat puts them
  const access = accessFlags(req.mode, o);
  const flags = access.flags | openFlags(o);
  let fd: number;
  logOpening(ctx.log, path, flags);
  try {
    fd = await openPathAsync(path, flags, 0o666, ctx.signal);
  } catch (err) {
    cleanUp();
    throw systemError(`open("${path}", 0${flags.toString(8)}, 0666)`, err);
  }
  try {
    if (o.bool('unlink-late')) removeEntry(path);
    await applyFdOptions(fd, afterCreation, { signal: ctx.signal, log: ctx.log });
  } catch (err) {
    closeSync(fd);
    cleanUp();
    throw err;
  }
  const { readable, source, readFd, writable, socket } = streamsForFd(fd, openedDirections(access.flags, req.mode), { autoClose: true, ignoreEof: o.bool('ignoreeof'), reusedBuffers: true });
  return makeEndpoint({
    readable,
    source,
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
}

export default defineAddress({
  names: ['PIPE', 'FIFO', 'ECHO'],
  params: ['filename'],
  minParams: 0,
  groups: ['FD', 'NAMED', 'OPEN', 'FIFO', 'APPL'],
  features: ['PIPE'],
  summary: 'PIPE: an echo pipe (a kernel pipe); PIPE:<filename>: a named FIFO, created when missing (perm: the mode it is made with, less the umask)',
  async open(req, ctx) {
    const path = req.params[0];
    return path === undefined ? openUnnamedPipe(req.options) : openNamedPipe(req, ctx, path);
  },
});
