/** TEXT:<string>: reads the given text, then end of file; writes go to stdout. */
import { Readable } from 'node:stream';
import { defineAddress } from '../src/define.js';
import { makeEndpoint } from '../src/engine/endpoint.js';

export default defineAddress({
  names: ['TEXT'],
  params: ['string'],
  groups: ['FD', 'FIFO', 'APPL'],
  features: ['TEXT'],
  summary: 'the given string as input; output goes to stdout',
  async open(req, ctx) {
    if (req.mode === 'w') ctx.log.log('W', 'TEXT address in write-only context degenerates to STDOUT');
    const text = req.params[0] as string;
    return makeEndpoint({
      readable: req.mode === 'w' ? undefined : Readable.from([Buffer.from(text)], { objectMode: false }),
      writable: req.mode === 'r' ? undefined : process.stdout,
      description: 'TEXT',
      shutdownWrite: () => {},
      // stdout is shared with the rest of the process: never close it
      close: async () => {},
    });
  },
});
