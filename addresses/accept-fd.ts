/**
 * ACCEPT-FD:<fdnum> (socat 1.8): accept peers on a listening socket that a
 * supervisor (systemd socket activation, inetd-style launchers) has bound and
 * handed over as an inherited descriptor; with fork, any number of them.
 * tsocat's own: ACCEPT-FD:<name> takes the socket systemd passed under that
 * name (LISTEN_FDNAMES), so each relay of a service file can take its own.
 */
import { constants, fstatSync } from 'node:fs';
import type { ResolvedOptions } from '../options/catalog.js';
import { defineAddress } from '../src/define.js';
import { acceptQueue } from '../src/engine/sockets/accept-queue.js';
import { formatSockaddr } from '../src/engine/sockets/inet.js';
import { parseSockaddr } from '../src/engine/sockets/sockaddr.js';
import { PREBIND_OPTIONS } from '../src/engine/sockets/socket-phases.js';
import { type SystemError, strerror, TsocatError } from '../src/errors.js';
import { parseRange } from '../src/engine/sockets/ip-range.js';
import { runtimeDescriptor } from '../src/engine/descriptors/runtime-fds.js';
import { isPassedSocket, passedSocketNamed } from '../src/engine/descriptors/listen-fds.js';

// socat's groups for ACCEPT-FD: no LISTEN group, since the socket listens already (backlog and accept-timeout are refused as in socat)
const GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'CHILD', 'RANGE', 'RETRY', 'APPL'] as const;

const SO_ACCEPTCONN = 30;

/** strtoul(…, 0) over the whole text, as socat reads the descriptor number; a text that is no number is a passed socket's name. */
function descriptorNumber(text: string): number {
  const m = text.match(/^(?:0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9]\d*))$/);
  if (!m) {
    if (/^\d|^0[xX]/.test(text) || text === '') throw new TsocatError(`error in FD number "${text}"`, 'EBADFD');
    return passedSocketNamed(text);
  }
  const n = m[1] !== undefined ? Number.parseInt(m[1], 16) : m[2] !== undefined ? Number.parseInt(m[2] || '0', 8) : Number(m[3]);
  if (!Number.isSafeInteger(n) || n > 0x7fffffff) throw new TsocatError(`error in FD number "${text}"`, 'EBADFD');
  return n;
}

/**
 * Refuses, as accept() on it would fail, a descriptor that is not open, not a
 * socket, or a socket that does not listen: Node would otherwise call
 * listen() on an unbound socket and serve on a random port.
 */
async function checkListening(fd: number): Promise<void> {
  const runtime = runtimeDescriptor(fd);
  if (runtime) throw new TsocatError(`accept(${fd}): ${strerror('EBADF')} (not inherited: Node's runtime holds ${runtime} there)`, 'EBADF');
  let isSocket: boolean;
  try {
    isSocket = fstatSync(fd).isSocket();
  } catch (err) {
    throw new TsocatError(`accept(${fd}): ${strerror(err as SystemError)}`, 'EBADF');
  }
  if (!isSocket) throw new TsocatError(`accept(${fd}): ${strerror('ENOTSOCK')}`, 'ENOTSOCK');
  const { inspect, SOL_SOCKET, setCloseOnExec, addStatusFlags } = await import('../src/sys/libc.js');
  if (inspect.sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN)?.[0] !== 1) throw new TsocatError(`accept(${fd}): ${strerror('EINVAL')}`, 'EINVAL');
  // as socat: a program started for a peer does not inherit the listening socket
  setCloseOnExec(fd, true);
  // accepted when the event loop says a peer waits; a peer gone meanwhile must not block the loop
  addStatusFlags(fd, constants.O_NONBLOCK, 'O_NONBLOCK');
}

/**
 * The inherited socket is bound already, so what goes before bind() cannot
 * happen; socat 1.8 takes such options and never uses them, tsocat says so.
 */
function refuseBindOptions(o: ResolvedOptions): void {
  const given = PREBIND_OPTIONS.find((name) => o.has(name));
  if (given) throw new TsocatError(`applyopts(): option "${given}" does not apply: the inherited socket is bound already`, 'EOPTAPPLY');
}

const DIRECTIONS = { rw: 'reading and writing', r: 'reading', w: 'writing' } as const;

export default defineAddress({
  names: ['ACCEPT-FD', 'ACCEPT'],
  params: ['fdnum'],
  groups: GROUPS,
  features: ['FDNUM', 'LISTEN'],
  summary: 'serve peers of an inherited listening socket (e.g. from systemd-socket-activate), by descriptor number or by its LISTEN_FDNAMES name; one peer, or one session per peer with fork',
  async open(req, ctx) {
    const o = req.options;
    const fd = descriptorNumber(req.params[0] as string);
    refuseBindOptions(o);
    const range = o.has('range') ? await parseRange(o.string('range') as string) : undefined;
    await checkListening(fd);
    ctx.log.log('N', `using file descriptor ${fd} accepting a connection for ${DIRECTIONS[req.mode]}`);

    const { localAddressOf } = await import('../src/sys/sockets.js');
    const own = parseSockaddr(localAddressOf(fd));
    const inet = own.family === 'inet4' || own.family === 'inet6';
    const bound = inet ? formatSockaddr(own.address, own.port) : 'AF=1 ""';
    // a socket systemd passed stays open: a relay that stops (a reload) closes its duplicate, and the next one takes the socket again
    const { duplicateDescriptor } = await import('../src/sys/libc.js');
    const accepted = acceptQueue(isPassedSocket(fd) ? duplicateDescriptor(fd) : fd, o, range, req.mode, ctx, !inet);
    ctx.log.startRunning('starting accept loop');
    ctx.log.log('N', `listening on ${bound}`);
    return accepted.listener(`ACCEPT-FD ${fd} ${bound}`, inet ? 'TCP' : 'UNIX');
  },
});
