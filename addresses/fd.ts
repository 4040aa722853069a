/** FD:<num> (and a bare digit): an already open descriptor inherited from the caller. */
import { defineAddress } from '../src/define.js';
import { makeEndpoint } from '../src/engine/endpoint.js';
import { applyFdOptions } from '../src/engine/descriptors/fdopts.js';
import { endAndWait, streamsForFd } from '../src/engine/descriptors/fdstreams.js';
import { runtimeDescriptor } from '../src/engine/descriptors/runtime-fds.js';
import { applyInheritedSocketOptions } from '../src/engine/sockets/sockopts.js';
import { systemError, TsocatError } from '../src/errors.js';

export default defineAddress({
  names: ['FD', 'FDIN', 'FDOUT'],
  params: ['fdnum'],
  groups: ['FD', 'APPL', 'TERMIOS', 'SOCKET', 'TCP'],
  features: ['FDNUM'],
  summary: 'an inherited file descriptor: FD:3, or just 3',
  async open(req) {
    const text = req.params[0] as string;
    if (!/^\d+$/.test(text)) throw new TsocatError(`FD: invalid file descriptor "${text}"`, 'EBADFD');
    const fd = Number(text);
    // no descriptor is numbered past INT_MAX: say what fstat() would, before Node refuses the number in its own words
    if (fd > 2 ** 31 - 1) throw new TsocatError(`fstat(${text}): Bad file descriptor`, 'EBADF');
    // a number that names one of Node's own descriptors was not open when tsocat started: as socat on a closed one, but say why
    const runtime = runtimeDescriptor(fd);
    if (runtime) throw new TsocatError(`fstat(${fd}): Bad file descriptor (not inherited: Node's runtime holds ${runtime} there)`, 'EBADF');
    const mode = req.keyword === 'FDIN' ? 'r' : req.keyword === 'FDOUT' ? 'w' : req.mode;
    let streams: ReturnType<typeof streamsForFd>;
    try {
      streams = streamsForFd(fd, mode, { autoClose: fd > 2, ignoreEof: req.options.bool('ignoreeof'), reusedBuffers: true });
    } catch (err) {
      throw systemError(`fstat(${fd})`, err);
    }
    const { readable, source, readFd, writable, socket, handOver } = streams;
    try {
      await applyInheritedSocketOptions(fd, req.options);
    } catch (err) {
      readable?.destroy();
      writable?.destroy();
      throw err;
    }
    // as socat: an inherited descriptor is not passed on to a child program unless cloexec=0
    const restoreTerminal = await applyFdOptions(fd, req.options, { closeOnExecByDefault: true });
    return makeEndpoint({
      readable,
      source,
      readFd,
      writable,
      handOver,
      description: `FD ${fd}`,
      shutdownWrite: () => (socket ? socket.end() : writable?.end()),
      close: async () => {
        restoreTerminal?.();
        readable?.destroy();
        if (writable && (writable as unknown) !== readable) await endAndWait(writable);
        socket?.destroy();
      },
    });
  },
});
