/**
 * OPEN, CREATE, GOPEN and bare paths: files, devices and FIFOs opened with
 * open(2) flags built from the access mode and the OPEN options.
 */
import { closeSync, constants, fstatSync, statSync } from 'node:fs';
import { type AddressRequest, defineAddress } from '../src/define.js';
import type { OpenContext } from '../src/engine/context.js';
import { type AccessMode, type Endpoint, makeEndpoint } from '../src/engine/endpoint.js';
import { applyEarlyNamedOptions, applyFdOptions } from '../src/engine/descriptors/fdopts.js';
import { endAndWait, streamsForFd } from '../src/engine/descriptors/fdstreams.js';
import { accessFlags, logOpening, O_ACCMODE, openedDirections, openFlags, openPathAsync, removeEntry } from '../src/engine/descriptors/open-path.js';
import { openOwn, pathKey, releasedOnClose } from '../src/engine/held.js';
import { systemError, TsocatError } from '../src/errors.js';

const GROUPS = ['FD', 'NAMED', 'OPEN', 'REG', 'FIFO', 'APPL', 'TERMIOS'] as const;
/** CREATE is creat(2): open flags are not its to choose, as in socat (FD, REG, NAMED). */
const CREATE_GROUPS = ['FD', 'NAMED', 'REG', 'APPL'] as const;

/** socat's default creation mode; umask applies to it, as to any open(2)/creat(2). */
const DEFAULT_CREATION_MODE = 0o666;

/**
 * Opens `path` with the given flags and wraps the descriptor; shared by all three keywords.
 * The NAMED options follow socat's phases: unlink-early and unlink remove the entry before
 * the open, unlink-late right after it (the relay goes on with the open descriptor),
 * unlink-close when the address closes. user-early, group-early and perm-early change an
 * existing entry just before the open. perm is the mode a new file is created with
 * (umask applies, and an existing file keeps its mode), as socat passes it to open(2).
 */
async function openPath(
  req: AddressRequest,
  path: string,
  baseFlags: number,
  access: { flags: number; mode: AccessMode },
  { signal, log }: Pick<OpenContext, 'signal' | 'log'>,
): Promise<Endpoint> {
  const o = req.options;
  if (o.bool('unlink-early') || o.bool('unlink')) removeEntry(path);
  applyEarlyNamedOptions(path, o);
  const flags = baseFlags | access.flags | openFlags(o);
  const perm = o.number('perm') ?? DEFAULT_CREATION_MODE;
  const openLocked = async () => {
    let fd: number;
    logOpening(log, path, flags);
    try {
      fd = await openPathAsync(path, flags, perm, signal);
    } catch (err) {
      // CREATE is creat(2) in socat, and its errors say so
      const call = baseFlags & constants.O_CREAT && baseFlags & constants.O_TRUNC ? `creat("${path}", 0${perm.toString(8)})` : `open("${path}", 0${flags.toString(8)}, 0${perm.toString(8)})`;
      throw systemError(call, err);
    }
    try {
      if (o.bool('unlink-late')) removeEntry(path);
      return { fd, restoreTerminal: await applyFdOptions(fd, o, { permAtOpen: true, signal, log }) };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  };
  // flock-ex-nb, flock-sh-nb: a lock an ending session of this relay still holds is waited for, not refused (src/engine/held.ts)
  const flockNb = o.bool('flock-ex-nb') || o.bool('flock-sh-nb');
  const lockBusy = (err: unknown) => err instanceof TsocatError && err.code === 'ELOCKED';
  const { value, held } = flockNb ? await openOwn(pathKey('flock', path), lockBusy, log, signal, openLocked, 'ending') : { value: await openLocked(), held: undefined };
  const { fd, restoreTerminal } = value;
  // the lock is let go as the address closes, not whenever its streams get the descriptor closed
  let unlock: (() => void) | undefined;
  try {
    unlock = held ? (await import('../src/sys/libc.js')).flockReleaser(fd) : undefined;
  } catch (err) {
    closeSync(fd);
    held?.release();
    throw err;
  }
  // O_DIRECT reads fail with EINVAL into memory that is not block-aligned
  const allocate = o.bool('o-direct') ? (await import('../src/sys/libc.js')).pageAlignedBuffer : undefined;
  // a FIFO offers only the directions it was opened for (socat never finds the other ready); a file keeps both, and EBADF
  const mode = fstatSync(fd).isFIFO() ? openedDirections(flags, access.mode) : access.mode;
  const { readable, source, readFd, writable, handOver } = streamsForFd(fd, mode, { autoClose: true, ignoreEof: o.bool('ignoreeof'), allocate, reusedBuffers: true, ownDescription: true });
  const endpoint = makeEndpoint({
    readable,
    source,
    readFd,
    writable,
    handOver,
    description: path,
    shutdownWrite: () => void endAndWait(writable),
    close: async () => {
      restoreTerminal?.();
      readable?.destroy();
      // a relay ending on a signal does not wait for output a stalled device may never take
      if (signal?.aborted) writable?.destroy();
      else await endAndWait(writable);
      unlock?.();
      if (o.bool('unlink-close')) removeEntry(path);
    },
  });
  return held ? releasedOnClose(endpoint, held) : endpoint;
}

/** GOPEN: a UNIX socket is talked to as UNIX-CLIENT does, anything else opened like OPEN. */
async function openGeneric(req: AddressRequest, ctx: OpenContext): Promise<Endpoint> {
  const path = req.params[0] as string;
  let isSocket = false;
  let exists = true;
  try {
    isSocket = statSync(path).isSocket();
  } catch {
    exists = false;
  }
  if (isSocket) {
    // as socat: a stream socket, else a seqpacket one, else datagrams sent to it
    const target = { name: path, abstract: false, options: req.options, mode: req.mode, log: ctx.log, signal: ctx.signal };
    // loaded only for a socket: the socket layer is a third of what opening a file would load
    const { unixClient } = await import('../src/engine/sockets/unix/unix-client.js');
    return unixClient(target, 'GOPEN', `GOPEN: ${path}`);
  }
  // as socat's GOPEN: a missing file is created (in whatever mode it is opened), and
  // writing to one that exists appends unless append=0 (so a log file is never overwritten)
  const access = accessFlags(req.mode, req.options);
  const appends = exists && (access.flags & O_ACCMODE) !== constants.O_RDONLY && (!req.options.has('o-append') || req.options.bool('o-append'));
  return openPath(req, path, exists ? (appends ? constants.O_APPEND : 0) : constants.O_CREAT, access, ctx);
}

export default [
  defineAddress({
    names: ['OPEN', 'FILE'],
    params: ['filename'],
    groups: GROUPS,
    features: ['FILE'],
    summary: 'open an existing file (creat option to create it)',
    async open(req, ctx) {
      return openPath(req, req.params[0] as string, 0, accessFlags(req.mode, req.options), ctx);
    },
  }),
  defineAddress({
    names: ['CREATE', 'CREAT'],
    params: ['filename'],
    groups: CREATE_GROUPS,
    features: ['CREAT'],
    directions: 'w',
    summary: 'create or truncate a file and write to it',
    async open(req, ctx) {
      if (req.mode === 'r') throw new TsocatError('CREATE: address is write-only and cannot be read', 'EUSAGE');
      return openPath(req, req.params[0] as string, constants.O_CREAT | constants.O_TRUNC, { flags: constants.O_WRONLY, mode: 'w' }, ctx);
    },
  }),
  defineAddress({
    names: ['GOPEN'],
    params: ['filename'],
    groups: GROUPS,
    features: ['GOPEN'],
    summary: 'open a file, device or FIFO, or connect to a UNIX socket (also: any path with a slash)',
    async open(req, ctx) {
      return openGeneric(req, ctx);
    },
  }),
];
