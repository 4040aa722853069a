/**
 * A program that took over address 1's descriptors (EXEC/SYSTEM with
 * nofork): tsocat lets go of its own copies, relays nothing, and ends with
 * the program's status, as socat does when it has become the program.
 */

import { constants } from 'node:os';
import { onAbort } from '../abort.js';
import type { ChildExit, Endpoint } from '../endpoint.js';

/** What a shell reports for the program: its exit code, or 128 + the signal that ended it. */
export function exitStatusOf(exit: ChildExit): number {
  if (exit.signal) return 128 + (constants.signals[exit.signal] ?? 0);
  return exit.code ?? 1;
}

export async function runHandedOver(first: Endpoint, program: Endpoint, signal: AbortSignal): Promise<number> {
  // the program holds its own copies now; ours would keep the peer from seeing the program's end
  first.handOver?.release();
  let stopListening = () => {};
  const aborted = new Promise<undefined>((resolve) => {
    stopListening = onAbort(signal, () => resolve(undefined));
  });
  const exit = await Promise.race([program.exited as Promise<ChildExit>, aborted]);
  stopListening();
  // tsocat was told to stop: the program goes with it, as it would have been socat itself
  await program.close();
  return exit ? exitStatusOf(exit) : 0;
}
