/**
 * Waiting on the relay's AbortSignal without leaving a listener behind. Every
 * session, retry pause and FIFO open of a relay listens on the same signal, so
 * each must take its listener off when it is done: a forking listener serves
 * any number of peers over its life.
 */

/** Calls `fn` once when `signal` aborts (at once if it already has); the returned function removes the listener. */
export function onAbort(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    fn();
    return () => {};
  }
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}

/** Waits, or stops waiting as soon as the relay is aborted (retry pauses, the connect loop's interval, serial line polls). */
export function sleep(seconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const stopListening = onAbort(signal, () => {
      clearTimeout(t);
      resolve();
    });
    const t = setTimeout(() => {
      stopListening();
      resolve();
    }, seconds * 1000);
  });
}
