/**
 * SOCKETPAIR: an echo over a socket pair, as socat 1.8 makes it: what is
 * written to one end is read back from the other. The default type is
 * datagram, so each message comes back as it went in; so-type (type=,
 * socktype=) picks stream or seqpacket, pf and so-protocol the rest of
 * socketpair()'s parameters.
 */
import { defineAddress } from '../src/define.js';
import { makeEndpoint } from '../src/engine/endpoint.js';
import { applyEarlyOptions, protocolFamily, refuseOptions, socketTypeOf } from '../src/engine/sockets/generic-socket.js';
import { rawSocketEndpoint } from '../src/engine/sockets/messages/raw-socket.js';
import { AF_UNIX, closeDescriptor, openSocketPair, SOCK_DGRAM, SOCK_STREAM } from '../src/sys/sockets.js';

export default defineAddress({
  names: ['SOCKETPAIR'],
  params: [],
  groups: ['FD', 'SOCKET', 'APPL'],
  features: ['SOCKETPAIR'],
  summary: 'an echo over a socket pair: what is written is read back (datagram by default, so-type= for stream or seqpacket)',
  async open(req, ctx) {
    const o = req.options;
    refuseOptions(o, ['bind', 'connect-timeout'], 'SOCKETPAIR');
    const pf = o.has('pf') ? protocolFamily(o.string('pf') as string) : AF_UNIX;
    const type = socketTypeOf(o, SOCK_DGRAM);
    const [readEnd, writeEnd] = openSocketPair(pf, type, o.number('so-protocol') ?? 0);
    try {
      // socat applies the options to both ends
      for (const fd of [readEnd, writeEnd]) await applyEarlyOptions(fd, o);
    } catch (err) {
      closeDescriptor(readEnd);
      closeDescriptor(writeEnd);
      throw err;
    }
    ctx.log.log('I', `socketpair({${readEnd},${writeEnd}})`);
    const message = type !== SOCK_STREAM;
    const halfClose = type !== SOCK_DGRAM;
    const reader = rawSocketEndpoint(readEnd, { nullEof: req.options.bool('null-eof'), message, halfClose, mode: 'r', description: 'SOCKETPAIR' });
    const writer = rawSocketEndpoint(writeEnd, { nullEof: req.options.bool('null-eof'), message, halfClose, mode: 'w', description: 'SOCKETPAIR' });
    ctx.log.log('N', 'writing to and reading from unnamed socketpair');
    return makeEndpoint({
      source: req.mode === 'w' ? undefined : reader.source,
      readable: req.mode === 'w' ? undefined : reader.readable,
      writable: req.mode === 'r' ? undefined : writer.writable,
      datagram: message,
      description: 'SOCKETPAIR',
      shutdownWrite: () => writer.shutdownWrite(),
      close: async () => {
        await Promise.all([reader.close(), writer.close()]);
      },
    });
  },
});
