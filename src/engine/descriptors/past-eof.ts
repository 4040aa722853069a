/**
 * socat's ignoreeof after the stream has ended: socat does not give up on a
 * descriptor that read 0 bytes but reads it again once per poll interval, so a
 * file that grows, a FIFO that gets a new writer or a terminal after ^D go on
 * delivering. Node's streams end for good at EOF, so this reads the descriptor
 * itself (at its current offset) the same way.
 */
import { read } from 'node:fs';

/** How long to wait before reading again after 0 bytes (socat waits 1 s; shorter costs little and feels like tail -f). */
export const IGNOREEOF_POLL_MS = 100;

export interface PastEofReader {
  pause(): void;
  resume(): void;
  stop(): void;
  /** socat's closing state: from now on end of file counts, as ignoreeof holds only while the relay is not closing. */
  eofIsFinal(): void;
}

/** A descriptor may be non-blocking (libuv makes pipes and sockets so): "nothing now" is the same as 0 bytes. */
function nothingYet(err: NodeJS.ErrnoException): boolean {
  return err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK';
}

/**
 * Keeps reading `fd` after end of file. Without a descriptor (a socket, a
 * program's pipe, an in-memory stream: nothing can follow their end) it simply
 * never delivers again, which is what re-reading them would amount to.
 */
export function readPastEof(fd: number | undefined, size: number, on: { data: (data: Buffer) => void; error: (err: Error) => void; end: () => void }): PastEofReader {
  let stopped = false;
  let final = false;
  let paused = false;
  let busy = false;
  let timer: NodeJS.Timeout | undefined;
  const step = () => {
    timer = undefined;
    if (stopped || paused || busy || fd === undefined) return;
    busy = true;
    const buf = Buffer.allocUnsafe(size);
    read(fd, buf, 0, size, null, (err, n) => {
      busy = false;
      if (stopped) return;
      if (err && !nothingYet(err)) return on.error(err);
      if (!err && n > 0) {
        on.data(buf.subarray(0, n));
        step();
      } else if (!err && final) {
        on.end();
      } else {
        timer = setTimeout(step, IGNOREEOF_POLL_MS);
      }
    });
  };
  step();
  return {
    pause: () => {
      paused = true;
    },
    resume: () => {
      if (!paused) return;
      paused = false;
      if (!timer) step();
    },
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
    eofIsFinal: () => {
      final = true;
      if (fd === undefined) return on.end();
      // read again now rather than after the poll interval: the relay is winding down
      if (timer) {
        clearTimeout(timer);
        step();
      }
    },
  };
}
