/** STALL: reads never deliver data nor end of file, writes are never taken. For testing timeouts and flow control. */
import { Readable, Writable } from 'node:stream';
import { defineAddress } from '../src/define.js';
import { makeEndpoint } from '../src/engine/endpoint.js';

export default defineAddress({
  names: ['STALL'],
  params: [],
  // socat's FD and FIFO options act on its internal pipes, which tsocat does not need; only APPL options mean something here
  groups: ['APPL'],
  features: ['STALL'],
  summary: 'never delivers data nor end of file, never takes data (for testing)',
  async open(req) {
    const readable = req.mode === 'w' ? undefined : new Readable({ read() {} });
    // the first write's callback never runs, so the writer sees backpressure at once and waits for good
    const writable = req.mode === 'r' ? undefined : new Writable({ highWaterMark: 1, write() {} });
    // full from the start, as socat's STALL is never writable: a relay does not even read for it (test.sh STALL_WR),
    // and the bytes stay in the source for the next reader
    writable?.write(Buffer.alloc(1));
    return makeEndpoint({
      readable,
      writable,
      description: 'STALL',
      shutdownWrite: () => {},
      close: async () => {
        readable?.destroy();
        writable?.destroy();
      },
    });
  },
});
