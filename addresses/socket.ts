/**
 * socat's generic sockets: SOCKET-CONNECT, SOCKET-LISTEN, SOCKET-SENDTO,
 * SOCKET-RECVFROM, SOCKET-RECV and SOCKET-DATAGRAM. The domain, type and
 * protocol are socket()'s numbers; an address is the bytes of a struct
 * sockaddr after its family, written in socat's data notation (dalan: `x`
 * hex bytes, `"text\0"`, `i`/`s`/`b` integers), and so is `bind=`.
 */
import type { ResolvedOptions } from '../options/catalog.js';
import { type AddressPlugin, type AddressRequest, defineAddress } from '../src/define.js';
import type { OpenContext } from '../src/engine/context.js';
import type { Endpoint } from '../src/engine/endpoint.js';
import { connectDescriptor, fromPeer, genericRange, genericSockaddr, preparedSocket, protocolFamily, refuseOptions, socketParameter, socketTypeOf } from '../src/engine/sockets/generic-socket.js';
import { environmentAddress } from '../src/engine/sockets/inet.js';
import { rawListener } from '../src/engine/sockets/raw-listener.js';
import { rawSocketEndpoint } from '../src/engine/sockets/messages/raw-socket.js';
import { recvFromListener } from '../src/engine/sockets/messages/recvfrom-listener.js';
import { describeSockaddr, parseSockaddr } from '../src/engine/sockets/sockaddr.js';
import { setRawSockopt } from '../src/engine/sockets/sockopts.js';
import { TsocatError } from '../src/errors.js';
import { bindSocket, closeDescriptor, listenSocket, localAddressOf, SOCK_DGRAM, SOCK_STREAM } from '../src/sys/sockets.js';

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

/** The kind of socket decides how its data moves: messages for datagram and seqpacket, half-close for stream and seqpacket. */
function transfer(type: number): { message: boolean; halfClose: boolean } {
  return { message: type !== SOCK_STREAM, halfClose: type !== SOCK_DGRAM };
}

/** SOCAT_SOCKADDR/PEERADDR…, for IP peers as socat sets them. */
function connectionInfo(local: Buffer, peer: Buffer): Record<string, string> | undefined {
  const l = parseSockaddr(local);
  const p = parseSockaddr(peer);
  if ((l.family !== 'inet4' && l.family !== 'inet6') || (p.family !== 'inet4' && p.family !== 'inet6')) return undefined;
  return { SOCKADDR: environmentAddress(l.address), SOCKPORT: String(l.port), PEERADDR: environmentAddress(p.address), PEERPORT: String(p.port) };
}

async function openConnect(req: AddressRequest, ctx: OpenContext): Promise<Endpoint> {
  const p = readParams(req, false);
  const fd = await preparedSocket(p.domain, p.type, p.protocol, req.options, p.local);
  try {
    await connectDescriptor(fd, p.address, ctx.signal, req.options.number('connect-timeout'));
  } catch (err) {
    closeDescriptor(fd);
    throw err;
  }
  ctx.log.log('N', `successfully connected to ${describeSockaddr(p.address)}`);
  return rawSocketEndpoint(fd, { nullEof: req.options.bool('null-eof'), ...transfer(p.type), mode: req.mode, description: `SOCKET ${describeSockaddr(p.address)}` });
}

async function setListenSockopt(fd: number, o: ResolvedOptions): Promise<void> {
  const text = o.string('setsockopt-listen');
  if (text !== undefined) await setRawSockopt(fd, 'setsockopt-listen', text);
}

async function reusePort(fd: number, o: ResolvedOptions): Promise<void> {
  if (!o.bool('so-reuseport')) return;
  const sys = await import('../src/sys/libc.js');
  sys.setIntSockopt(fd, sys.SOL_SOCKET, sys.SO_REUSEPORT, 1);
}

async function openListen(req: AddressRequest, ctx: OpenContext) {
  const o = req.options;
  const p = readParams(req, false);
  const range = o.string('range');
  const inRange = range === undefined ? undefined : genericRange(range);
  if (o.has('bind')) throw new TsocatError('option "bind" does not apply to SOCKET-LISTEN: its address is the one it listens on', 'EOPTAPPLY');
  // so-reuseport must be set before bind()
  const fd = await preparedSocket(p.domain, p.type, p.protocol, o);
  try {
    await reusePort(fd, o);
    bindSocket(fd, p.address, describeSockaddr(p.address));
    await setListenSockopt(fd, o);
    listenSocket(fd, o.number('backlog') ?? 5);
  } catch (err) {
    closeDescriptor(fd);
    throw err;
  }
  const here = localAddressOf(fd);
  ctx.log.startRunning('starting accept loop');
  ctx.log.log('N', `listening on ${describeSockaddr(here)}`);
  return rawListener(fd, {
    description: `SOCKET-LISTEN ${describeSockaddr(here)}`,
    log: ctx.log,
    onAccept: async (conn, peer) => {
      // as socat: a peer outside the range is closed at once, with a warning, and accepting goes on
      if (inRange && !inRange(peer)) {
        ctx.log.log('W', `refusing connection from ${describeSockaddr(peer)} due to range option`);
        return undefined;
      }
      ctx.log.log('N', `accepting connection from ${describeSockaddr(peer)} on ${describeSockaddr(here)}`);
      const endpoint = rawSocketEndpoint(conn, { nullEof: req.options.bool('null-eof'), ...transfer(p.type), mode: req.mode, description: `SOCKET ${describeSockaddr(peer)}` });
      endpoint.connectionInfo = connectionInfo(here, peer);
      return endpoint;
    },
  });
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
