/**
 * Pseudo-terminals, made by node-pty (its native openpty) and relayed on the
 * master side. Used by the PTY address and by EXEC/SYSTEM/SHELL with `pty`.
 * node-pty is loaded only here, when an address asks for a terminal, so
 * `tsocat - -` never pays for it.
 */
import { closeSync, existsSync, lstatSync, symlinkSync, unlinkSync, write } from 'node:fs';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { systemError, TsocatError } from '../../errors.js';
import { setNonBlocking } from '../../sys/libc.js';
import { polledStreams } from '../descriptors/polled-fd.js';
import type { Logger } from '../../log/logger.js';
import { type AccessMode, type Endpoint, makeEndpoint } from '../endpoint.js';

export interface PtyPair {
  master: number;
  slave: number;
  /** The slave's path, /dev/pts/N. */
  path: string;
}

interface NativePty {
  open(cols: number, rows: number): { master: number; slave: number; pty: string };
}

let native: NativePty | undefined;

/**
 * node-pty's compiled part. The package's own entry point also loads its
 * JavaScript terminal classes; openpty is all tsocat needs of it.
 */
function nodePty(): NativePty {
  if (native) return native;
  const require = createRequire(import.meta.url);
  try {
    const pkg = `@lydell/node-pty-${process.platform}-${process.arch}`;
    native = require(`${pkg}/pty.node`) as NativePty;
  } catch (err) {
    throw new TsocatError(`node-pty is not usable here (${(err as Error).message.split('\n')[0]}): reinstall tsocat with its optional dependencies`, 'ENOPTY');
  }
  return native;
}

/** socat's default window of a new pty is the kernel's 0x0; node-pty asks for a size, so 0:0 keeps socat's. */
export function windowSize(options: ResolvedOptions): { cols: number; rows: number } {
  const text = options.string('tiocswinsz');
  if (text === undefined) return { cols: 0, rows: 0 };
  const [cols, rows] = text.split(':').map(Number) as [number, number];
  for (const n of [cols, rows]) if (n < 0 || n > 0xffff) throw new TsocatError(`tiocswinsz: ${n} is outside range 0..65535`, 'EOPTVALUE');
  return { cols, rows };
}

/** Makes a pty pair (openpty: the slave is open as well, without becoming tsocat's controlling terminal). */
export function openPty(options: ResolvedOptions): PtyPair {
  const { cols, rows } = windowSize(options);
  try {
    const t = nodePty().open(cols, rows);
    return { master: t.master, slave: t.slave, path: t.pty };
  } catch (err) {
    if (err instanceof TsocatError) throw err;
    throw systemError('openpty()', err);
  }
}

/**
 * `window size` options are node-pty's to apply when it opens the pty, and
 * `tiocsctty` is the program's to do (pty-child.ts): the rest of the TERMIOS
 * and FD options go to applyFdOptions on the master.
 */
export function optionsForMaster(options: ResolvedOptions): ResolvedOptions {
  return options.without('tiocswinsz', 'tiocsctty');
}

/**
 * symlink(pty, link), replacing an old entry as socat does. With `removeAtClose`
 * the returned function removes it, and so does tsocat's exit (a signal too).
 */
export function linkTo(path: string, link: string, removeAtClose: boolean): (() => void) | undefined {
  try {
    if (existsSync(link) || isSymlink(link)) unlinkSync(link);
    symlinkSync(path, link);
  } catch (err) {
    throw systemError(`symlink("${path}", "${link}")`, err);
  }
  if (!removeAtClose) return undefined;
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    try {
      unlinkSync(link);
    } catch {
      // gone already
    }
    links.delete(remove);
  };
  links.add(remove);
  if (!exitHook) process.once('exit', () => {
      for (const r of [...links]) r();
    });
  exitHook = true;
  return remove;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Links not yet removed; an exit on a signal removes them too, so no stale link points at a freed pty. */
const links = new Set<() => void>();
let exitHook = false;

/**
 * Writes to the master. Not through the tty stream: libuv retries a tty write
 * that meets EAGAIN at once, in a loop, so a slave nobody reads would spin the
 * event loop (and tsocat could not even end on SIGTERM). Here a full queue is
 * retried after a growing pause, and the pump's backpressure does the rest.
 */
function masterWriter(master: number): Writable {
  const writeAll = (chunk: Buffer, done: (err?: Error | null) => void, pause = 1): void => {
    write(master, chunk, 0, chunk.length, null, (err, n) => {
      if (err && err.code !== 'EAGAIN') return done(err);
      const rest = chunk.subarray(err ? 0 : n);
      if (rest.length === 0) return done();
      setTimeout(() => writeAll(rest, done, Math.min(pause * 2, 50)), err ? pause : 0);
    });
  };
  return new Writable({ write: (chunk: Buffer, _enc, cb) => writeAll(chunk, cb) });
}

/**
 * The master side of a pty as an endpoint: read when the event loop says it is
 * readable (polled-fd.ts) until EIO, the kernel's way of saying the last
 * descriptor of the slave was closed and everything written to it has been
 * read (socat: "probably PTY closed"); written by masterWriter. Not read
 * through Node's tty stream: libuv ends a stream that reports hang-up after a
 * read shorter than its buffer, and on a pty the hang-up comes while the
 * program's last output is still on its way from the slave (a program that
 * wrote 14 kB and exited lost all but the first 4 kB).
 */
export function masterEndpoint(master: number, mode: AccessMode, description: string, log: Logger, onClose: () => void | Promise<void>): Endpoint {
  // reads meet EAGAIN instead of waiting, and a slave nobody reads cannot hold a thread-pool write
  setNonBlocking(master, true);
  const endsInput = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EIO') return false;
    log.log('N', `read(${master}, …): Input/output error (probably PTY closed)`);
    return true;
  };
  const readable = mode === 'w' ? undefined : polledStreams(master, 'r', { autoClose: false, endsInput })?.readable;
  if (mode !== 'w' && !readable) throw new TsocatError(`uv_poll_init(${master}): a pty master the event loop cannot watch`, 'EPOLL');
  readable?.on('error', () => {}); // reported to the pump
  const writable = mode === 'r' ? undefined : masterWriter(master);
  writable?.on('error', () => {});
  return makeEndpoint({
    readable,
    writable,
    description,
    // a pty has no half-close: the other side sees end of input when the master is closed
    shutdownWrite: () => {},
    close: async () => {
      // what is queued for the slave gets a moment to go out, as socat's close would let the kernel keep it
      await new Promise<void>((resolve) => {
        if (!writable || writable.destroyed || writable.writableLength === 0) return resolve();
        writable.once('drain', () => resolve());
        setTimeout(resolve, 500).unref();
      });
      writable?.destroy();
      // the terminal settings are put back through the master, so before it closes
      await onClose();
      // the watch lets go of the descriptor first (its destroy), then the descriptor closes
      if (readable && !readable.closed) await new Promise<void>((resolve) => readable.destroy().once('close', () => resolve()));
      closeQuietly(master);
    },
  });
}

/** Closes a descriptor that may already be gone. */
export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
