/**
 * The "wire side" of a TUN interface as an endpoint that keeps message
 * boundaries: one read of the descriptor is one packet is one chunk, one
 * chunk written is one packet. The descriptor is non-blocking and watched by
 * the event loop (descriptors/polled-fd.ts).
 */
import type { Readable, Writable } from 'node:stream';
import { polledStreams } from '../descriptors/polled-fd.js';
import { type AccessMode, type Endpoint, makeEndpoint } from '../endpoint.js';

/** Largest packet read at once: the kernel's largest MTU plus the 4-byte packet information header. */
const PACKET_BUFFER = 65536 + 4;

function closed(stream: Readable | Writable | undefined): Promise<void> {
  if (!stream || stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    stream.destroy();
  });
}

/** Packets read from and written to `fd` (the endpoint owns it). */
export function tunEndpoint(fd: number, mode: AccessMode, description: string): Endpoint {
  const streams = polledStreams(fd, mode, { autoClose: true, chunkSize: PACKET_BUFFER, messages: true });
  if (!streams) throw new Error(`${description}: the event loop cannot watch descriptor ${fd}`);
  const { readable, writable } = streams;
  let closing: Promise<void> | undefined;
  return makeEndpoint({
    readable,
    writable,
    datagram: true,
    description,
    // an interface has no half-close: the other side's end of file sends nothing
    shutdownWrite: () => {},
    close: () => {
      closing ??= Promise.all([closed(readable), closed(writable)]).then(() => undefined);
      return closing;
    },
  });
}
