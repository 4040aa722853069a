/**
 * `fork` on an address that connects (socat 1.8): every connection it makes
 * is a peer, served like an accepted one; after handing one out it waits
 * `interval` seconds and connects again. With max-children the relay asks for
 * the next peer only when a slot is free, so at most that many are open.
 */
import { TsocatError } from '../../errors.js';
import type { Endpoint, Listener } from '../endpoint.js';
import { sleep } from '../abort.js';

export function connectLoop(first: Endpoint, reconnect: () => Promise<Endpoint>, intervalSeconds: number, signal: AbortSignal): Listener {
  let waiting: Endpoint | undefined = first;
  let closed = false;
  const stopped = () => new TsocatError('connect loop stopped', 'ECLOSED');
  return {
    kind: 'listener',
    description: first.description,
    async accept(): Promise<Endpoint> {
      if (closed) throw stopped();
      if (waiting) {
        const peer = waiting;
        waiting = undefined;
        return peer;
      }
      await sleep(intervalSeconds, signal);
      if (closed || signal.aborted) throw stopped();
      return reconnect();
    },
    async close() {
      closed = true;
      await waiting?.close();
      waiting = undefined;
    },
  };
}
