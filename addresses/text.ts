/**
 * TEXT:<string>: reads the given text, then end of file; writes go to stdout.
 * As in socat the text comes out of a kernel pipe, so the FD options act on
 * that pipe's read end (and, where TEXT writes, on stdout as socat's STDOUT part).
 */
import { closeSync } from 'node:fs';
import { defineAddress } from '../src/define.js';
import { makeEndpoint } from '../src/engine/endpoint.js';
import { applyFdOptions } from '../src/engine/descriptors/fdopts.js';
import { streamsForFd } from '../src/engine/descriptors/fdstreams.js';

export default defineAddress({
  names: ['TEXT'],
  params: ['string'],
  groups: ['FD', 'FIFO', 'APPL'],
  features: ['TEXT'],
  summary: 'the given string as input (through a kernel pipe); output goes to stdout',
  async open(req, ctx) {
    if (req.mode === 'w') ctx.log.log('W', 'TEXT address in write-only context degenerates to STDOUT');
    const writes = req.mode !== 'r';
    if (writes) await applyFdOptions(1, req.options);
    if (req.mode === 'w') return makeEndpoint({ writable: process.stdout, description: 'TEXT', shutdownWrite: () => {}, close: async () => {} });
    const { makePipe } = await import('../src/sys/libc.js');
    const [readEnd, writeEnd] = makePipe();
    try {
      await applyFdOptions(readEnd, req.options);
    } catch (err) {
      closeSync(readEnd);
      closeSync(writeEnd);
      throw err;
    }
    // written asynchronously: a text longer than the pipe holds does not stall tsocat
    // (a pipe has no shutdown(): the reader sees end of file once the write end is closed)
    const feeder = streamsForFd(writeEnd, 'w', { autoClose: true }).writable;
    feeder?.end(Buffer.from(req.params[0] as string), () => feeder.destroy());
    const { readable } = streamsForFd(readEnd, 'r', { autoClose: true });
    return makeEndpoint({
      readable,
      writable: writes ? process.stdout : undefined,
      description: 'TEXT',
      shutdownWrite: () => {},
      // stdout is shared with the rest of the process: never close it
      close: async () => {
        readable?.destroy();
      },
    });
  },
});
