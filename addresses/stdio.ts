/** STDIO (`-`), STDIN, STDOUT, STDERR: the relay's own standard descriptors, shared and never closed. */
import { fstatSync, readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { type AddressRequest, defineAddress } from '../src/define.js';
import { makeEndpoint } from '../src/engine/endpoint.js';
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

/**
 * Whether a standard descriptor is a UNIX datagram or seqpacket socket (a
 * program socat or tsocat started with socktype=2 or 5): Node's process
 * streams read nothing from one, so it is read and written a message at a
 * time instead. Told from /proc/net/unix (its Type column), without loading
 * the socket layer for the usual stream socketpair or pipe.
 */
function isMessageSocket(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    if (!st.isSocket()) return false;
    const row = readFileSync('/proc/net/unix', 'latin1')
      .split('\n')
      .find((line) => line.trim().split(/\s+/)[6] === String(st.ino));
    const type = row?.trim().split(/\s+/)[4];
    return type === '0002' || type === '0005';
  } catch {
    return false;
  }
}

/** STDIO, STDIN, STDOUT on message sockets: each read one message (an empty one is end of file, as socat's read() says), each write one. */
async function openMessageStd(req: AddressRequest, readFd: number | undefined, writeFd: number | undefined, description: string) {
  const [{ rawSocketEndpoint }, { duplicateDescriptor }] = await Promise.all([import('../src/engine/sockets/messages/raw-socket.js'), import('../src/sys/libc.js')]);
  // copies of 0 and 1: the endpoints close their own descriptor, tsocat keeps its standard ones
  const side = (fd: number | undefined, mode: 'r' | 'w') =>
    fd === undefined ? undefined : isMessageSocket(fd) ? rawSocketEndpoint(duplicateDescriptor(fd), { message: true, halfClose: false, nullEof: true, mode, description }) : undefined;
  const reader = side(readFd, 'r');
  const writer = side(writeFd, 'w');
  for (const fd of [readFd, writeFd]) if (fd !== undefined) await applyFdOptions(fd, req.options);
  return makeEndpoint({
    source: reader?.source,
    readable: reader?.readable ?? (readFd === undefined ? undefined : process.stdin),
    writable: writer?.writable ?? (writeFd === undefined ? undefined : shared(writeFd === 2 ? process.stderr : process.stdout, writeFd)),
    datagram: true,
    description,
    shutdownWrite: () => {},
    close: async () => {
      await Promise.all([reader?.close(), writer?.close()]);
    },
  });
}

/** Opens a standard address, on message sockets when 0 or 1 is one. */
function openStdAddress(req: AddressRequest, readFd: number | undefined, writeFd: number | undefined, description: string) {
  if ([readFd, writeFd].some((fd) => fd !== undefined && fd !== 2 && isMessageSocket(fd))) return openMessageStd(req, readFd, writeFd, description);
  const writable = writeFd === undefined ? undefined : shared(writeFd === 2 ? process.stderr : process.stdout, writeFd);
  return openStd(req, readFd === undefined ? undefined : process.stdin, writable, description, writeFd ?? 1);
}

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
    open: (req) => openStdAddress(req, req.mode === 'w' ? undefined : 0, req.mode === 'r' ? undefined : 1, 'STDIO'),
  }),
  defineAddress({
    names: ['STDIN'],
    params: [],
    groups: GROUPS,
    features: ['STDIO'],
    directions: 'r',
    summary: 'standard input of tsocat (read only)',
    open: (req) => openStdAddress(req, req.mode === 'w' ? undefined : 0, undefined, 'STDIN'),
  }),
  defineAddress({
    names: ['STDOUT'],
    params: [],
    groups: GROUPS,
    features: ['STDIO'],
    directions: 'w',
    summary: 'standard output of tsocat (write only)',
    open: (req) => openStdAddress(req, undefined, req.mode === 'r' ? undefined : 1, 'STDOUT'),
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
