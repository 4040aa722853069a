/**
 * OPEN, CREATE, GOPEN and bare paths: files, devices and FIFOs opened with
 * open(2) flags built from the access mode and the OPEN options.
 */
import { closeSync, constants, statSync } from 'node:fs';
import { connect } from 'node:net';
import { type AddressRequest, defineAddress } from '../src/define.js';
import type { OpenContext } from '../src/engine/context.js';
import { type AccessMode, type Endpoint, makeEndpoint } from '../src/engine/endpoint.js';
import { applyFdOptions } from '../src/engine/fdopts.js';
import { endAndWait, streamsForFd } from '../src/engine/fdstreams.js';
import { accessFlags, logOpening, openFlags, openPathAsync, removeEntry } from '../src/engine/open-path.js';
import { socketEndpoint } from '../src/engine/socket-endpoint.js';
import { systemError, TsocatError } from '../src/errors.js';

const GROUPS = ['FD', 'NAMED', 'OPEN', 'REG', 'FIFO', 'APPL', 'TERMIOS'] as const;
/** CREATE is creat(2): open flags are not its to choose, as in socat (FD, REG, NAMED). */
const CREATE_GROUPS = ['FD', 'NAMED', 'REG', 'APPL'] as const;

/** Opens `path` with the given flags and wraps the descriptor; shared by all three keywords. */
async function openPath(
  req: AddressRequest,
  path: string,
  baseFlags: number,
  access: { flags: number; mode: AccessMode },
  { signal, log }: Pick<OpenContext, 'signal' | 'log'>,
): Promise<Endpoint> {
  const o = req.options;
  if (o.bool('unlink-early') || o.bool('unlink')) removeEntry(path, 'unlink-early');
  const flags = baseFlags | access.flags | openFlags(o);
  const perm = 0o666;
  let fd: number;
  logOpening(log, path, flags);
  try {
    fd = await openPathAsync(path, flags, perm, signal);
  } catch (err) {
    // CREATE is creat(2) in socat, and its errors say so
    const call = baseFlags & constants.O_CREAT && baseFlags & constants.O_TRUNC ? `creat("${path}", 0${perm.toString(8)})` : `open("${path}", 0${flags.toString(8)}, 0${perm.toString(8)})`;
    throw systemError(call, err);
  }
  let restoreTerminal: (() => void) | undefined;
  try {
    restoreTerminal = await applyFdOptions(fd, o);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (o.bool('unlink-late')) removeEntry(path, 'unlink-late');
  // O_DIRECT reads fail with EINVAL into memory that is not block-aligned
  const allocate = o.bool('o-direct') ? (await import('../src/sys/libc.js')).pageAlignedBuffer : undefined;
  const { readable, writable, handOver } = streamsForFd(fd, access.mode, { autoClose: true, ignoreEof: o.bool('ignoreeof'), start: o.number('seek'), allocate });
  return makeEndpoint({
    readable,
    writable,
    handOver,
    description: path,
    shutdownWrite: () => void endAndWait(writable),
    close: async () => {
      restoreTerminal?.();
      readable?.destroy();
      await endAndWait(writable);
      if (o.bool('unlink-close')) removeEntry(path, 'unlink-close');
    },
  });
}

/** GOPEN: a UNIX socket is connected to, anything else opened like OPEN. */
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
    const socket = connect({ path, allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (err) => reject(systemError(`connect("${path}")`, err)));
    });
    return socketEndpoint(socket, path, req.mode);
  }
  // as socat's GOPEN: a missing file is created (in whatever mode it is opened)
  return openPath(req, path, exists ? 0 : constants.O_CREAT, accessFlags(req.mode, req.options), ctx);
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
