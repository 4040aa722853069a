/** STDIO (`-`), STDIN, STDOUT, STDERR: the relay's own standard descriptors, shared and never closed. */
import type { Readable, Writable } from 'node:stream';
import { type AddressRequest, defineAddress } from '../src/define.js';
import { type AccessMode, makeEndpoint } from '../src/engine/endpoint.js';
import { applyFdOptions } from '../src/engine/descriptors/fdopts.js';
import { nonBlockingTerminalWrites } from '../src/engine/descriptors/terminal-writes.js';
import { fanInWriter } from '../src/engine/relay/shared-endpoint.js';

const GROUPS = ['FD', 'APPL', 'TERMIOS', 'PROCESS'] as const;

/** One endpoint over process streams. Ending or closing it never closes the descriptor: other peers may share it. */
function stdEndpoint(readable: Readable | undefined, writable: Writable | undefined, description: string, writeFd: number, restoreTerminals: Array<() => void>) {
  return makeEndpoint({
    readable,
    // libuv never closes descriptor 0, whatever becomes of process.stdin
    readFd: readable ? 0 : undefined,
    writable,
    description,
    // process.stdin reads nothing until asked; tsocat keeps its own 0-2 after a program takes them over
    handOver: { read: readable ? 0 : undefined, write: writable ? writeFd : undefined, release: () => {} },
    shutdownWrite: () => {},
    close: async () => {
      readable?.pause();
      for (const restore of restoreTerminals) restore();
    },
  });
}

const input = (mode: AccessMode) => (mode === 'w' ? undefined : process.stdin);

/**
 * tsocat's stdout and stderr, each written through one fan-in writer by every
 * session that opens them (`TCP-LISTEN:…,fork STDOUT`): one set of listeners
 * on the stream, not one per session.
 */
const writers = new Map<Writable, () => Writable>();
function shared(stream: Writable, fd: number): Writable {
  let view = writers.get(stream);
  if (!view) {
    // a terminal that takes nothing must stall only the sessions writing to it
    nonBlockingTerminalWrites(stream, fd);
    view = fanInWriter(stream);
    writers.set(stream, view);
  }
  return view();
}

/**
 * FD options act on the descriptors the address uses (socat would chmod or lock
 * the file behind stdin); PROCESS options act on tsocat itself (src/engine/opening/privileges.ts).
 */
async function openStd(req: AddressRequest, readable: Readable | undefined, writable: Writable | undefined, description: string, writeFd = 1) {
  const restoreTerminals: Array<() => void> = [];
  for (const fd of new Set([readable ? 0 : undefined, writable ? writeFd : undefined])) {
    const restore = fd === undefined ? undefined : await applyFdOptions(fd, req.options);
    if (restore) restoreTerminals.push(restore);
  }
  return stdEndpoint(readable, writable, description, writeFd, restoreTerminals);
}

export default [
  defineAddress({
    names: ['STDIO', '-'],
    params: [],
    groups: GROUPS,
    // TERMIOS options work on any terminal descriptor; STDIO is where they are used most
    features: ['STDIO', 'TERMIOS'],
    summary: 'standard input and output of tsocat',
    open: (req) => openStd(req, input(req.mode), req.mode === 'r' ? undefined : shared(process.stdout, 1), 'STDIO'),
  }),
  defineAddress({
    names: ['STDIN'],
    params: [],
    groups: GROUPS,
    features: ['STDIO'],
    directions: 'r',
    summary: 'standard input of tsocat (read only)',
    open: (req) => openStd(req, input(req.mode), undefined, 'STDIN'),
  }),
  defineAddress({
    names: ['STDOUT'],
    params: [],
    groups: GROUPS,
    features: ['STDIO'],
    directions: 'w',
    summary: 'standard output of tsocat (write only)',
    open: (req) => openStd(req, undefined, req.mode === 'r' ? undefined : shared(process.stdout, 1), 'STDOUT'),
  }),
  defineAddress({
    names: ['STDERR'],
    params: [],
    groups: GROUPS,
    features: ['STDIO'],
    directions: 'w',
    summary: 'standard error of tsocat (write only)',
    open: (req) => openStd(req, undefined, req.mode === 'r' ? undefined : shared(process.stderr, 2), 'STDERR', 2),
  }),
];
