/**
 * Raw IP: IP-SENDTO, IP-DATAGRAM, IP-RECVFROM, IP-RECV and their IP4-/IP6-
 * variants. A raw socket of the given IP protocol number (0-255; root or
 * CAP_NET_RAW): each message is one IP packet's payload. An IPv4 raw socket
 * hands the IP header along with each packet; as socat does, tsocat passes on
 * what follows it.
 */
import type { BlockList } from 'node:net';
import type { ResolvedOptions } from '../options/catalog.js';
import { type AddressPlugin, type AddressRequest, defineAddress } from '../src/define.js';
import type { OpenContext } from '../src/engine/context.js';
import type { Endpoint } from '../src/engine/endpoint.js';
import { fromPeer, ipv4Payload, preparedSocket, protocolFamily, refuseOptions } from '../src/engine/sockets/generic-socket.js';
import { environmentAddress, parseHostPort, resolveHost, unbracket } from '../src/engine/sockets/inet.js';
import { parseRange } from '../src/engine/sockets/ip-range.js';
import { ANCILLARY_OPTIONS, enableAncillary, wantsAncillary } from '../src/engine/sockets/ip-sockopts.js';
import { CONTROL_SIZE, reportAncillary } from '../src/engine/sockets/messages/ancillary.js';
import { rawSocketEndpoint } from '../src/engine/sockets/messages/raw-socket.js';
import { recvFromListener } from '../src/engine/sockets/messages/recvfrom-listener.js';
import { describeSockaddr, inetSockaddr, parseSockaddr } from '../src/engine/sockets/sockaddr.js';
import { TsocatError } from '../src/errors.js';
import { AF_INET, AF_INET6, closeDescriptor, SOCK_RAW } from '../src/sys/sockets.js';

/** The IP protocol number, as socat reads it: at most 255; trailing garbage is warned about. */
function ipProtocol(text: string, call: string, ctx: OpenContext): number {
  const m = /^\s*(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)/.exec(text);
  const n = m ? Number(m[1]?.startsWith('0') && !/^0[xX]/.test(m[1]) ? Number.parseInt(m[1], 8) : m[1]) : 0;
  if (n >= 256) throw new TsocatError(`${call}: protocol number exceeds 255 (${n})`, 'EINVAL');
  if (!m || m[0].length < text.length) ctx.log.log('W', `${call}: trailing garbage in protocol specification`);
  return n;
}

/** IP4-… and IP6-… fix the version; IP-… takes pf=, then the host's form, then -4/-6, then IPv4. */
function ipVersion(req: AddressRequest, ctx: OpenContext, host?: string): 4 | 6 {
  // a raw socket has no ports and no other type; names are looked up plainly
  refuseOptions(req.options, ['so-type', 'so-protocol', 'sourceport', 'lowport', 'ai-addrconfig', 'connect-timeout'], req.keyword);
  if (req.keyword.startsWith('IP4')) return 4;
  if (req.keyword.startsWith('IP6')) return 6;
  const o = req.options;
  if (o.has('pf')) {
    const pf = protocolFamily(o.string('pf') as string);
    if (pf !== AF_INET && pf !== AF_INET6) throw new TsocatError(`protocol family ${pf} is not IP`, 'EINVAL');
    return pf === AF_INET6 ? 6 : 4;
  }
  if (host && unbracket(host).includes(':')) return 6;
  return ctx.settings.preferredFamily || 4;
}

/** bind= on raw IP: an address only (a raw socket has no ports). */
async function localAddress(o: ResolvedOptions, version: 4 | 6): Promise<Buffer | undefined> {
  const text = o.string('bind');
  if (text === undefined) return undefined;
  const { host, port } = parseHostPort(text);
  if (port !== undefined) throw new TsocatError(`bind=${text}: a raw IP socket binds an address only, without a port`, 'EOPTVALUE');
  return inetSockaddr(await resolveHost(host ?? (version === 6 ? '::' : '0.0.0.0'), 'NULL', version, o), 0);
}

async function rangeCheck(o: ResolvedOptions, ctx: OpenContext): Promise<((from: Buffer) => boolean) | undefined> {
  const text = o.string('range');
  if (text === undefined) return undefined;
  const list: BlockList = await parseRange(text);
  return (from) => {
    const p = parseSockaddr(from);
    if (p.family !== 'inet4' && p.family !== 'inet6') return false;
    if (list.check(p.address, p.family === 'inet6' ? 'ipv6' : 'ipv4')) return true;
    ctx.log.log('W', `refusing packet from ${describeSockaddr(from)} due to range option`);
    return false;
  };
}

/** socat names the bound address when there is one, else the protocol. */
function logReceiving(ctx: OpenContext, protocol: number, local: Buffer | undefined): void {
  ctx.log.log('N', local ? `receiving on ${describeSockaddr(local)}` : `receiving IP protocol ${protocol}`);
}

const payloadOf = (version: 4 | 6) => (version === 4 ? ipv4Payload : undefined);

async function rawSocket(version: 4 | 6, protocol: number, o: ResolvedOptions, local?: Buffer): Promise<number> {
  return preparedSocket(version === 6 ? AF_INET6 : AF_INET, SOCK_RAW, protocol, o, local);
}

/** A raw socket for IP-RECV and IP-RECVFROM, asking for the control messages the options name (ancillary.ts). */
async function receivingRawSocket(version: 4 | 6, protocol: number, o: ResolvedOptions, local?: Buffer): Promise<number> {
  const fd = await rawSocket(version, protocol, o.without(...ANCILLARY_OPTIONS), local);
  try {
    await enableAncillary(fd, o);
  } catch (err) {
    closeDescriptor(fd);
    throw err;
  }
  return fd;
}

/** Reads each packet's control messages when the options ask for any: logged, and what the program gets. */
const controlOf = (o: ResolvedOptions, ctx: OpenContext) => (wantsAncillary(o) ? { size: CONTROL_SIZE, variables: (control: Buffer) => reportAncillary(control, ctx.log) } : undefined);

/** IP-SENDTO (replies from the host only) and IP-DATAGRAM (replies from anyone, or those range lets in). */
async function openSendTo(req: AddressRequest, ctx: OpenContext, datagram: boolean): Promise<Endpoint> {
  const [hostText, protocolText] = req.params as [string, string];
  const o = req.options;
  const version = ipVersion(req, ctx, hostText);
  const protocol = ipProtocol(protocolText, `xioopen_rawip_sendto("${hostText}:${protocolText}",,)`, ctx);
  const peer = inetSockaddr(await resolveHost(unbracket(hostText), 'NULL', version, o), 0);
  const range = datagram ? await rangeCheck(o, ctx) : undefined;
  const fd = await rawSocket(version, protocol, o, await localAddress(o, version));
  const isPeer = fromPeer(peer, true);
  return rawSocketEndpoint(fd, {
    nullEof: req.options.bool('null-eof'),
    message: true,
    halfClose: false,
    sendTo: peer,
    onSender: datagram ? range : (from) => isPeer(from),
    payload: payloadOf(version),
    mode: req.mode,
    description: `IP${version} ${describeSockaddr(peer)}`,
  });
}

async function openRecv(req: AddressRequest, ctx: OpenContext): Promise<Endpoint> {
  const o = req.options;
  const version = ipVersion(req, ctx);
  const protocol = ipProtocol(req.params[0] as string, `xioopen_rawip_recv("${req.params[0]}",,)`, ctx);
  const range = await rangeCheck(o, ctx);
  const local = await localAddress(o, version);
  const fd = await receivingRawSocket(version, protocol, o, local);
  logReceiving(ctx, protocol, local);
  const control = controlOf(o, ctx);
  return rawSocketEndpoint(fd, {
    nullEof: req.options.bool('null-eof'),
    message: true,
    halfClose: false,
    onSender: range,
    control: control && { size: control.size, receive: control.variables },
    payload: payloadOf(version),
    mode: 'r',
    description: `IP${version}-RECV ${protocol}`,
  });
}

async function openRecvFrom(req: AddressRequest, ctx: OpenContext) {
  const o = req.options;
  const version = ipVersion(req, ctx);
  const protocol = ipProtocol(req.params[0] as string, `xioopen_rawip_recvfrom("${req.params[0]}",,)`, ctx);
  const range = await rangeCheck(o, ctx);
  const local = await localAddress(o, version);
  const fd = await receivingRawSocket(version, protocol, o, local);
  ctx.log.startRunning('starting recvfrom loop');
  logReceiving(ctx, protocol, local);
  return recvFromListener(fd, {
    description: `IP${version}-RECVFROM ${protocol}`,
    // room for the IPv4 header in front of -b bytes of payload
    readSize: ctx.settings.blockSize + (version === 4 ? 60 : 0),
    mode: req.mode,
    accept: range,
    payload: payloadOf(version),
    control: controlOf(o, ctx),
    onMessage: (from, length) => ctx.log.log('N', `receiving packet with ${length} bytes from ${describeSockaddr(from)}`),
    connectionInfo: (from): Record<string, string> => {
      const p = parseSockaddr(from);
      return p.family === 'inet4' || p.family === 'inet6' ? { PEERADDR: environmentAddress(p.address) } : {};
    },
  });
}

const variants = (base: string) => [`IP-${base}`, `IP4-${base}`, `IP6-${base}`];
const FEATURES = ['RAWIP', 'IP4', 'IP6'];

const plugins: AddressPlugin[] = [
  defineAddress({
    // socat's short names: IP, IP4, IP6 and IP-SEND… are IP-SENDTO
    names: [...variants('SENDTO'), 'IP', 'IP4', 'IP6', ...variants('SEND')],
    listed: variants('SENDTO'),
    params: ['host', 'protocol'],
    groups: ['FD', 'SOCKET', 'APPL', 'IP4', 'IP6'],
    features: FEATURES,
    summary: 'raw IP: send each message as an IP packet of <protocol> to <host>; read that host\'s packets (root)',
    open: (req, ctx) => openSendTo(req, ctx, false),
  }),
  defineAddress({
    names: [...variants('DATAGRAM'), ...variants('DGRAM')],
    listed: variants('DATAGRAM'),
    params: ['host', 'protocol'],
    groups: ['FD', 'SOCKET', 'APPL', 'IP4', 'IP6', 'RANGE'],
    features: FEATURES,
    summary: 'raw IP: send each message to <host> (broadcast, multicast); read packets of <protocol> from anyone range lets in (root)',
    open: (req, ctx) => openSendTo(req, ctx, true),
  }),
  defineAddress({
    names: variants('RECVFROM'),
    listed: variants('RECVFROM'),
    params: ['protocol'],
    groups: ['FD', 'SOCKET', 'APPL', 'IP4', 'IP6', 'CHILD', 'RANGE'],
    features: FEATURES,
    summary: 'raw IP: receive a packet of <protocol> and answer its sender; fork for one session per packet (root)',
    open: openRecvFrom,
  }),
  defineAddress({
    names: variants('RECV'),
    listed: variants('RECV'),
    params: ['protocol'],
    groups: ['FD', 'SOCKET', 'APPL', 'IP4', 'IP6', 'RANGE'],
    features: FEATURES,
    directions: 'r',
    summary: 'raw IP: receive packets of <protocol> from any sender (read only; root)',
    open: openRecv,
  }),
];

export default plugins;
