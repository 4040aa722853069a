/**
 * Node writes to a terminal blocking (tty.WriteStream asks libuv for blocking
 * writes, so output is never interleaved or lost at exit). For a relay that
 * is a freeze: a terminal that takes nothing (a pty whose master nobody reads,
 * a line stopped by XOFF) holds the whole process in the kernel's write —
 * every session and SIGTERM with it. libuv opens a pty slave anew for its
 * handle (uv_tty_init), so the handle has an open file description of its own;
 * there, non-blocking writes that libuv queues and polls change nothing for
 * the shell or anyone else who shares the terminal. Where libuv could not
 * reopen it (the handle is on the shared descriptor itself), writes stay as
 * Node makes them: making the shell's description non-blocking would break it.
 */
import type { Writable } from 'node:stream';
import { isatty } from '../../sys/builtins.js';

interface TtyHandle {
  fd?: number;
  setBlocking?: (blocking: boolean) => number;
}

/** Makes `stream`'s writes to the terminal at `fd` queue instead of block, when its handle has its own description. */
export function nonBlockingTerminalWrites(stream: Writable, fd: number): void {
  if (!isatty(fd)) return;
  const handle = (stream as unknown as { _handle?: TtyHandle })._handle;
  if (handle?.fd !== undefined && handle.fd >= 0 && handle.fd !== fd) handle.setBlocking?.(false);
}
