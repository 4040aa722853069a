/**
 * PTY: a new pseudo-terminal whose master side tsocat relays; programs use the
 * slave side (/dev/pts/N, or the `link` made to it). Two of them make socat's
 * virtual null-modem: `PTY,link=/tmp/ttyV0,raw,echo=0 PTY,link=/tmp/ttyV1,raw,echo=0`.
 */
import { chmodSync, chownSync } from 'node:fs';
import type { ResolvedOptions } from '../options/catalog.js';
import { defineAddress } from '../src/define.js';
import type { OpenContext } from '../src/engine/context.js';
import { applyFdOptions, applyNamedOptions, lookupId } from '../src/engine/descriptors/fdopts.js';
import { sleep } from '../src/engine/abort.js';
import { closeQuietly, linkTo, masterEndpoint, openPty, optionsForMaster, type PtyPair } from '../src/engine/terminals/pty.js';
import { systemError } from '../src/errors.js';

/** Options socat applies to the slave's path (/dev/pts/N), not to the master descriptor. */
const ON_SLAVE_PATH = ['user', 'group', 'perm', 'user-early', 'group-early', 'perm-early', 'user-late', 'group-late', 'perm-late'];

/** Owner, group and mode of /dev/pts/N, as socat sets them on the slave's name. */
function applyToSlavePath(path: string, o: ResolvedOptions): void {
  applyNamedOptions(path, o);
  const user = o.string('user-late');
  const group = o.string('group-late');
  if (user !== undefined || group !== undefined) {
    const uid = user !== undefined ? lookupId('user', user) : -1;
    const gid = group !== undefined ? lookupId('group', group) : -1;
    try {
      chownSync(path, uid, gid);
    } catch (err) {
      throw systemError(`chown("${path}", ${uid}, ${gid})`, err);
    }
  }
  const mode = o.number('perm-late');
  if (mode !== undefined) {
    try {
      chmodSync(path, mode);
    } catch (err) {
      throw systemError(`chmod("${path}", 0${mode.toString(8)})`, err);
    }
  }
}

const POLLHUP = 0x10;

/**
 * wait-slave: tsocat lets go of its own slave descriptor and checks every
 * pty-interval whether the master still sees a hang-up; it stops when a
 * program has opened the slave (or the relay is stopped).
 */
async function waitForSlave(pty: PtyPair, o: ResolvedOptions, ctx: OpenContext): Promise<void> {
  const { inspect } = await import('../src/sys/libc.js');
  const interval = o.number('pty-interval') ?? 1;
  closeQuietly(pty.slave);
  while (!ctx.signal.aborted) {
    const revents = inspect.poll(pty.master, POLLHUP);
    if (revents === undefined) throw systemError(`poll({${pty.master}, POLLHUP}, 1, 0)`, new Error('poll failed'));
    if (!(revents & POLLHUP)) return;
    await sleep(interval, ctx.signal);
  }
}

export default defineAddress({
  names: ['PTY'],
  params: [],
  groups: ['NAMED', 'FD', 'TERMIOS', 'PTY', 'APPL'],
  features: ['PTY'],
  summary: 'a new pseudo-terminal (node-pty); programs open its slave side, /dev/pts/N or the link= path',
  async open(req, ctx) {
    const o = req.options;
    const pty = openPty(o);
    ctx.log.log('N', `PTY is ${pty.path}`);
    let unlink: (() => void) | undefined;
    let restoreTerminal: (() => void) | undefined;
    let slaveHeld = true;
    try {
      applyToSlavePath(pty.path, o);
      restoreTerminal = await applyFdOptions(pty.master, optionsForMaster(o).without(...ON_SLAVE_PATH));
      // the link comes once the settings are made, so a program that finds it finds them (socat links first);
      // as in socat it stays after exit only with unlink-close=0
      const link = o.string('symbolic-link');
      if (link !== undefined) unlink = linkTo(pty.path, link, !o.has('unlink-close') || o.bool('unlink-close'));
      if (o.bool('pty-wait-slave')) {
        slaveHeld = false;
        await waitForSlave(pty, o, ctx);
      }
    } catch (err) {
      unlink?.();
      if (slaveHeld) closeQuietly(pty.slave);
      closeQuietly(pty.master);
      throw err;
    }
    // without wait-slave tsocat keeps the slave open, as socat does after openpty(): programs may
    // open and close the device again and again (a virtual serial port) without ending the relay
    return masterEndpoint(pty.master, req.mode, `PTY ${pty.path}`, ctx.log, () => {
      restoreTerminal?.();
      if (slaveHeld) closeQuietly(pty.slave);
      unlink?.();
    });
  },
});
