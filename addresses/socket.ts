/**
 * socat's generic sockets: SOCKET-CONNECT, SOCKET-LISTEN, SOCKET-SENDTO,
 * SOCKET-RECVFROM, SOCKET-RECV and SOCKET-DATAGRAM. The domain, type and
 * protocol are socket()'s numbers; an address is the bytes of a struct
 * sockaddr after its family, written in socat's data notation (dalan: `x`
 * hex bytes, `"text\0"`, `i`/`s`/`b` integers), and so is `bind=`.
 */
import { type AddressPlugin, type AddressRequest, defineAddress } from '../src/define.js';
import type { OpenContext } from '../src/engine/context.js';
import type { Endpoint } from '../src/engine/endpoint.js';
import { fromPeer, genericRange, genericSockaddr, preparedSocket, protocolFamily, refuseOptions, socketParameter, socketTypeOf } from '../src/engine/sockets/generic-socket.js';
import { connectionInfo, connectStream, listenStream, transfer } from '../src/engine/sockets/kernel/kernel-stream.js';
import { rawSocketEndpoint } from '../src/engine/sockets/messages/raw-socket.js';
import { recvFromListener } from '../src/engine/sockets/messages/recvfrom-listener.js';
import { describeSockaddr } from '../src/engine/sockets/sockaddr.js';
import { TsocatError } from '../src/errors.js';
import { localAddressOf, SOCK_STREAM } from '../src/sys/sockets.js';

/** What the user wrote as socket parameters, read as socat reads them. */
interface SocketParams {
  domain: number;
  type: number;
  protocol: number;
  address: Buffer;
  /** bind=, as sockaddr data of the same family. */
  local?: Buffer;
}

function readParams(req: AddressRequest, withType: boolean): SocketParams {
  if (req.keyword !== 'SOCKET-CONNECT') refuseOptions(req.options, ['connect-timeout'], req.keyword);
  const [domainText, ...rest] = req.params as [string, ...string[]];
  const o = req.options;
  const typeText = withType ? (rest.shift() as string) : undefined;
  const [protocolText, addressText] = rest as [string, string];
  // pf and so-type win over the parameters, as in socat
  const domain = o.has('pf') ? protocolFamily(o.string('pf') as string) : socketParameter(domainText, 'domain');
  const type = socketTypeOf(o, typeText === undefined ? SOCK_STREAM : socketParameter(typeText, 'type'));
  const protocol = o.number('so-protocol') ?? socketParameter(protocolText, 'protocol');
  const bind = o.string('bind');
  return { domain, type, protocol, address: genericSockaddr(domain, addressText), local: bind === undefined ? undefined : genericSockaddr(domain, bind) };
}

async function openConnect(req: AddressRequest, ctx: OpenContext): Promise<Endpoint> {
  const p = readParams(req, false);
  return connectStream(req, ctx, p, p.address, 'SOCKET', p.local);
}

async function openListen(req: AddressRequest, ctx: OpenContext) {
  const p = readParams(req, false);
  const range = req.options.string('range');
  if (req.options.has('bind')) throw new TsocatError('option "bind" does not apply to SOCKET-LISTEN: its address is the one it listens on', 'EOPTAPPLY');
  return listenStream(req, ctx, p, p.address, { label: 'SOCKET', inRange: range === undefined ? undefined : genericRange(range) });
}

/**
 * Which senders' messages an address reads: SENDTO its peer's only, DATAGRAM
 * and RECV anyone's, or those the range lets in (socat's warning for others).
 */
function senderCheck(req: AddressRequest, ctx: OpenContext, peer: Buffer | undefined): ((from: Buffer) => boolean) | undefined {
  if (peer) {
    const isPeer = fromPeer(peer);
    return (from) => {
      if (isPeer(from)) return true;
      ctx.log.log('I', 'recvfrom(): wrong peer address, ignoring packet');
      return false;
    };
  }
  const range = req.options.string('range');
  if (range === undefined) return undefined;
  const inRange = genericRange(range);
  return (from) => {
    if (inRange(from)) return true;
    ctx.log.log('W', `refusing connection from ${describeSockaddr(from)} due to range option`);
    return false;
  };
}

/** SENDTO: writes go to the address; only its replies are read. DATAGRAM: the same, replies from anyone the range allows. */
async function openSendTo(req: AddressRequest, ctx: OpenContext, checkPeer: boolean): Promise<Endpoint> {
  const p = readParams(req, true);
  const onSender = senderCheck(req, ctx, checkPeer ? p.address : undefined);
  const fd = await preparedSocket(p.domain, p.type, p.protocol, req.options, p.local);
  ctx.log.log('N', `sending to ${describeSockaddr(p.address)}`);
  return rawSocketEndpoint(fd, {
    nullEof: req.options.bool('null-eof'),
    message: true,
    halfClose: false,
    sendTo: p.address,
    onSender,
    mode: req.mode,
    description: `SOCKET ${describeSockaddr(p.address)}`,
  });
}

async function openRecv(req: AddressRequest, ctx: OpenContext): Promise<Endpoint> {
  const p = readParams(req, true);
  if (req.options.has('bind')) throw new TsocatError('option "bind" does not apply here: the address is the one it receives on', 'EOPTAPPLY');
  const onSender = senderCheck(req, ctx, undefined);
  const fd = await preparedSocket(p.domain, p.type, p.protocol, req.options, p.address);
  ctx.log.log('N', `receiving on ${describeSockaddr(p.address)}`);
  const { message } = transfer(p.type);
  return rawSocketEndpoint(fd, { nullEof: req.options.bool('null-eof'), message, halfClose: false, onSender, mode: 'r', description: `SOCKET-RECV ${describeSockaddr(p.address)}` });
}

async function openRecvFrom(req: AddressRequest, ctx: OpenContext) {
  const p = readParams(req, true);
  if (req.options.has('bind')) throw new TsocatError('option "bind" does not apply here: the address is the one it receives on', 'EOPTAPPLY');
  const fd = await preparedSocket(p.domain, p.type, p.protocol, req.options, p.address);
  const here = localAddressOf(fd);
  ctx.log.startRunning('starting recvfrom loop');
  ctx.log.log('N', `receiving on ${describeSockaddr(here)}`);
  return recvFromListener(fd, {
    description: `SOCKET-RECVFROM ${describeSockaddr(here)}`,
    readSize: ctx.settings.blockSize,
    mode: req.mode,
    onMessage: (from, length) => ctx.log.log('N', `receiving packet with ${length} bytes from ${describeSockaddr(from)}`),
    connectionInfo: (from) => connectionInfo(here, from) ?? {},
  });
}

const GENERIC = ['FD', 'SOCKET', 'APPL'] as const;

const plugins: AddressPlugin[] = [
  defineAddress({
    names: ['SOCKET-CONNECT'],
    params: ['domain', 'protocol', 'remote-address'],
    groups: [...GENERIC, 'CHILD', 'RETRY'],
    features: ['GENERICSOCKET'],
    summary: 'connect a stream socket of <domain> and <protocol> (so-type= for another type) to <remote-address> (sockaddr data after the family)',
    open: openConnect,
  }),
  defineAddress({
    names: ['SOCKET-LISTEN'],
    params: ['domain', 'protocol', 'local-address'],
    groups: [...GENERIC, 'LISTEN', 'RANGE', 'CHILD', 'RETRY'],
    features: ['GENERICSOCKET', 'LISTEN'],
    summary: 'listen with a stream socket of <domain> and <protocol> on <local-address> (sockaddr data after the family); fork for one session per peer',
    open: openListen,
  }),
  defineAddress({
    names: ['SOCKET-SENDTO', 'SENDTO'],
    params: ['domain', 'type', 'protocol', 'remote-address'],
    groups: GENERIC,
    features: ['GENERICSOCKET'],
    summary: 'send each message to <remote-address> with a socket of <domain>, <type> and <protocol>; read only its replies',
    open: (req, ctx) => openSendTo(req, ctx, true),
  }),
  defineAddress({
    names: ['SOCKET-DATAGRAM', 'DATAGRAM', 'DGRAM'],
    params: ['domain', 'type', 'protocol', 'remote-address'],
    groups: [...GENERIC, 'RANGE'],
    features: ['GENERICSOCKET'],
    summary: 'send each message to <remote-address>; read messages from any sender (range: those it lets in)',
    open: (req, ctx) => openSendTo(req, ctx, false),
  }),
  defineAddress({
    names: ['SOCKET-RECV'],
    params: ['domain', 'type', 'protocol', 'local-address'],
    groups: [...GENERIC, 'RANGE'],
    features: ['GENERICSOCKET'],
    directions: 'r',
    summary: 'receive messages from any sender on <local-address> (read only; range: those it lets in)',
    open: openRecv,
  }),
  defineAddress({
    names: ['SOCKET-RECVFROM'],
    params: ['domain', 'type', 'protocol', 'local-address'],
    groups: [...GENERIC, 'CHILD'],
    features: ['GENERICSOCKET'],
    summary: 'receive a message on <local-address> and answer its sender; fork for one session per message',
    open: openRecvFrom,
  }),
];

export default plugins;
