/**
 * VSOCK-CONNECT and VSOCK-LISTEN: stream sockets of AF_VSOCK, between a
 * virtual machine and its host (or this machine, where the kernel has vsock
 * loopback), addressed by context id and port.
 */
import { type AddressPlugin, type AddressRequest, defineAddress } from '../src/define.js';
import type { OpenContext } from '../src/engine/context.js';
import { refuseOptions } from '../src/engine/sockets/generic-socket.js';
import { connectStream, listenStream, type SocketKind } from '../src/engine/sockets/kernel/kernel-stream.js';
import { AF_VSOCK, vsockSockaddr } from '../src/engine/sockets/sockaddr.js';
import { TsocatError } from '../src/errors.js';
import { SOCK_STREAM } from '../src/sys/sockets.js';

const VMADDR_CID_ANY = 0xffffffff;
const VSOCK: SocketKind = { domain: AF_VSOCK, type: SOCK_STREAM, protocol: 0 };

/** A cid or port as socat reads it: strtoul() in C notation, cut to 32 bits; anything after the number is refused. */
function vsockNumber(text: string, what: 'cid' | 'port'): number {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)?/.exec(text) as RegExpExecArray;
  const rest = text.slice(m[0].length);
  if (rest !== '') throw new TsocatError(`sockaddr_vm - garbage in ${what}: "${rest}"`, 'EINVAL');
  const digits = m[2] ?? '0';
  const value = BigInt(/^0[0-7]+$/.test(digits) ? `0o${digits.slice(1)}` : digits);
  return Number(BigInt.asUintN(32, m[1] === '-' ? -value : value));
}

/** socat names this machine's own context id first. */
async function logLocalCid(ctx: OpenContext): Promise<void> {
  const cid = (await import('../src/sys/libc.js')).localVsockCid();
  if (cid !== undefined) ctx.log.log('N', `VSOCK CID=${cid}`);
}

async function openConnect(req: AddressRequest, ctx: OpenContext) {
  // socat 1.8 reads a client's bind= past its end (garbage in port): refused rather than guessed at
  refuseOptions(req.options, ['bind', 'so-type', 'so-protocol'], req.keyword);
  const address = vsockSockaddr(vsockNumber(req.params[0] as string, 'cid'), vsockNumber(req.params[1] as string, 'port'));
  await logLocalCid(ctx);
  return connectStream(req, ctx, VSOCK, address, 'VSOCK');
}

/** bind= on a listener: the context id to listen on; the port is the address's own. */
function listenCid(req: AddressRequest): number {
  const text = req.options.string('bind');
  if (text === undefined) return VMADDR_CID_ANY;
  if (text.includes(':')) throw new TsocatError('port specification not allowed in this bind option', 'EOPTVALUE');
  return vsockNumber(text, 'cid');
}

async function openListen(req: AddressRequest, ctx: OpenContext) {
  refuseOptions(req.options, ['so-type', 'so-protocol', 'connect-timeout'], req.keyword);
  const address = vsockSockaddr(listenCid(req), vsockNumber(req.params[0] as string, 'port'));
  await logLocalCid(ctx);
  return listenStream(req, ctx, VSOCK, address, { label: 'VSOCK' });
}

const plugins: AddressPlugin[] = [
  defineAddress({
    listed: ['VSOCK-CONNECT'],
    names: ['VSOCK-CONNECT', 'VSOCK'],
    params: ['cid', 'port'],
    groups: ['FD', 'SOCKET', 'CHILD', 'RETRY'],
    features: ['VSOCK'],
    summary: 'connect a vsock stream to <port> of context <cid> (2: the host)',
    open: openConnect,
  }),
  defineAddress({
    listed: ['VSOCK-LISTEN'],
    names: ['VSOCK-LISTEN', 'VSOCK-L'],
    params: ['port'],
    groups: ['FD', 'SOCKET', 'LISTEN', 'CHILD', 'RETRY'],
    features: ['VSOCK', 'LISTEN'],
    summary: 'listen for vsock streams on <port> of any context id (bind=<cid>: of that one); fork for one session per peer',
    open: openListen,
  }),
];

export default plugins;
