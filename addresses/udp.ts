/**
 * The UDP and UDP-Lite addresses: UDP (connect), UDP-LISTEN, UDP-SENDTO,
 * UDP-RECVFROM, UDP-RECV, UDP-DATAGRAM, each also as UDP4-/UDP6- and as
 * UDPLITE-/UDPLITE4-/UDPLITE6-. Every one keeps datagram boundaries: one
 * packet in is one chunk is one packet out (src/engine/sockets/messages/datagram-endpoint.ts).
 *
 * socat's forking UDP-LISTEN and UDP-RECVFROM make a child per peer (per
 * packet for RECVFROM); tsocat runs those sessions in-process on one socket
 * and hands each received packet to the session of its sender.
 */
import type { Socket as DgramSocket, RemoteInfo } from 'node:dgram';
import { Writable } from 'node:stream';
import type { ResolvedOptions } from '../options/catalog.js';
import { type AddressPlugin, type AddressRequest, defineAddress } from '../src/define.js';
import type { OpenContext } from '../src/engine/context.js';
import { type Endpoint, type Listener, makeEndpoint } from '../src/engine/endpoint.js';
import { chooseFamily, environmentAddress, familyFromEnv, formatSockaddr, parseHostPort, parsePort, resolveHost, unbracket } from '../src/engine/sockets/inet.js';
import { parseRange } from '../src/engine/sockets/ip-range.js';
import { wantsAncillary } from '../src/engine/sockets/ip-sockopts.js';
import { reportAncillary } from '../src/engine/sockets/messages/ancillary.js';
import type { AncillaryInfo } from '../src/engine/sockets/messages/ancillary-socket.js';
import { datagramEndpoint, datagramWritable, finishWrites, type HeldFeed, heldFeed } from '../src/engine/sockets/messages/datagram-endpoint.js';
import {
  anyAddress,
  closeQuietly,
  connectUdp,
  IPPROTO_UDP,
  IPPROTO_UDPLITE,
  openAncillaryUdpSocket,
  openUdpSocket,
  type PeerCheck,
  peerAllowed,
  udpConnectionInfo,
} from '../src/engine/sockets/messages/udp-socket.js';
import { TsocatError } from '../src/errors.js';

const BASE = ['FD', 'SOCKET', 'IP4', 'IP6', 'APPL'] as const;

/** Packets from peers a forking listener has not yet handed out (max-children reached): beyond this they are dropped. */
const PENDING_MAX = 1024;

interface Flavour {
  /** UDP or UDPLITE. */
  stem: 'UDP' | 'UDPLITE';
  protocol: number;
}

const FLAVOURS: readonly Flavour[] = [
  { stem: 'UDP', protocol: IPPROTO_UDP },
  { stem: 'UDPLITE', protocol: IPPROTO_UDPLITE },
];

const keywordFamily = (keyword: string): 4 | 6 | 0 => {
  const m = /^UDP(?:LITE)?([46])?/.exec(keyword);
  return m?.[1] === '4' ? 4 : m?.[1] === '6' ? 6 : 0;
};

const protocolOf = (keyword: string): number => (keyword.startsWith('UDPLITE') ? IPPROTO_UDPLITE : IPPROTO_UDP);
const label = (protocol: number): string => (protocol === IPPROTO_UDP ? 'UDP' : 'UDPLITE');

/** `bind=[host][:port]` resolved for the family. */
async function bindOption(o: ResolvedOptions, family: 4 | 6): Promise<{ address?: string; port?: number }> {
  const text = o.string('bind');
  if (text === undefined) return {};
  const { host, port } = parseHostPort(text);
  return {
    address: host ? await resolveHost(host, port ?? 'NULL', family, o) : undefined,
    port: port ? parsePort(port, host ?? '', 'udp') : undefined,
  };
}

/** The family of an address that sends to <host>: keyword, IPv6 literal, pf, -4/-6 or SOCAT_PREFERRED_RESOLVE_IP. */
function sendingFamily(req: AddressRequest, ctx: OpenContext): 4 | 6 {
  return chooseFamily(keywordFamily(req.keyword), req.params[0] as string, ctx.settings.preferredFamily || familyFromEnv('SOCAT_PREFERRED_RESOLVE_IP'), req.options.string('pf'));
}

/** The family of an address that receives on a port: keyword, bind's literal, pf, -4/-6 or SOCAT_DEFAULT_LISTEN_IP. */
function receivingFamily(req: AddressRequest, ctx: OpenContext): 4 | 6 {
  const bindHost = parseHostPort(req.options.string('bind') ?? '').host ?? '';
  return chooseFamily(keywordFamily(req.keyword), bindHost, ctx.settings.preferredFamily || familyFromEnv('SOCAT_DEFAULT_LISTEN_IP'), req.options.string('pf'));
}

/** The peer a sending address talks to: <host>:<port> resolved. */
async function remotePeer(req: AddressRequest, family: 4 | 6, connects = false): Promise<{ address: string; port: number }> {
  const host = unbracket(req.params[0] as string);
  const port = parsePort(req.params[1] as string, host, 'udp');
  // Node's dgram refuses to connect to port 0: say so here, in one line (SENDTO and DATAGRAM fail at their first
  // packet instead, as socat's sendto() does, so that an address that never sends works: test.sh probes UDP-Lite so)
  if (port === 0 && connects) throw new TsocatError(`${req.keyword}: invalid destination port "${req.params[1]}" (1-65535)`, 'EBADPORT');
  return { address: await resolveHost(host, req.params[1] as string, family, req.options), port };
}

/** socat's lowport for a sending socket: the first free port from 640 to 1023, tried from a random start. */
async function openFromLowPort(open: (port: number) => Promise<DgramSocket>): Promise<DgramSocket> {
  const first = 640;
  const count = 1024 - first;
  const offset = Math.floor(Math.random() * count);
  for (let i = 0; ; i++) {
    try {
      return await open(first + ((offset + i) % count));
    } catch (err) {
      if (!(err instanceof TsocatError && err.code === 'EADDRINUSE') || i === count - 1) throw err;
    }
  }
}

/** A socket for an address that sends first: bound to bind/sourceport/lowport when given, else to any port. */
async function sendingSocket(req: AddressRequest, ctx: OpenContext, family: 4 | 6, protocol: number, sourcePort: number | undefined): Promise<DgramSocket> {
  const o = req.options;
  const bound = await bindOption(o, family);
  const address = bound.address ?? anyAddress(family);
  const port = sourcePort ?? bound.port;
  const open = (p: number) => openUdpSocket({ family, protocol, local: { address, port: p }, options: o, log: ctx.log });
  if (port === undefined && o.bool('lowport')) return openFromLowPort(open);
  return open(port ?? 0);
}

/** A socket for an address that receives on <port> (bind gives the local address). */
async function receivingSocket(req: AddressRequest, ctx: OpenContext, reuseAddr = false, ancillary = false): Promise<{ socket: DgramSocket; family: 4 | 6 }> {
  // with an option that asks for control messages, the socket is read with recvmsg() (ancillary.ts)
  const family = receivingFamily(req, ctx);
  const protocol = protocolOf(req.keyword);
  const port = parsePort(req.params[0] as string, '', 'udp');
  const bound = await bindOption(req.options, family);
  const request = { family, protocol, local: { address: bound.address ?? anyAddress(family), port }, options: req.options, reuseAddr, log: ctx.log };
  const socket = ancillary ? await openAncillaryUdpSocket(request) : await openUdpSocket(request);
  // ip-recverr: an ICMP report about a packet sent is logged, as socat logs it, and reading goes on
  if (ancillary) socket.on('packetError', (control: Buffer) => void reportAncillary(control, ctx.log));
  return { socket, family };
}

async function peerCheck(o: ResolvedOptions): Promise<PeerCheck> {
  return {
    range: o.has('range') ? await parseRange(o.string('range') as string) : undefined,
    sourcePort: o.number('sourceport'),
    lowport: o.bool('lowport'),
  };
}

const localText = (socket: DgramSocket): string => {
  const a = socket.address();
  return formatSockaddr(a.address, a.port);
};

const emptyWhenUnconnected = (o: ResolvedOptions): 'eof' | 'ignore' => (o.bool('null-eof') ? 'eof' : 'ignore');

/** socat 1.8 ends a connected datagram peer's input with an empty packet (its shut-null default for UDP-CONNECT and UDP-LISTEN). */
function sendEmptyOnShutdown(endpoint: Endpoint): Endpoint {
  endpoint.shutdownWrite = () => {
    if (endpoint.writable && !endpoint.writable.writableEnded) endpoint.writable.write(Buffer.alloc(0));
  };
  return endpoint;
}

/** UDP, UDP-CONNECT: a connected socket; an empty packet from the peer is end of file, as read() says in socat. */
async function openConnect(req: AddressRequest, ctx: OpenContext): Promise<Endpoint> {
  const protocol = protocolOf(req.keyword);
  const family = sendingFamily(req, ctx);
  const peer = await remotePeer(req, family, true);
  const socket = await sendingSocket(req, ctx, family, protocol, req.options.number('sourceport'));
  try {
    await connectUdp(socket, peer.address, peer.port);
  } catch (err) {
    await closeQuietly(socket);
    throw err;
  }
  ctx.log.log('N', `successfully connected from local address ${localText(socket)}`);
  return sendEmptyOnShutdown(datagramEndpoint(socket, `${label(protocol)} ${formatSockaddr(peer.address, peer.port)}`, { empty: 'eof', batchable: true }));
}

/** UDP-SENDTO: sends to <host>:<port>; takes packets only from that address and port (socat: "wrong peer address, ignoring packet"). */
async function openSendTo(req: AddressRequest, ctx: OpenContext): Promise<Endpoint> {
  const protocol = protocolOf(req.keyword);
  const family = sendingFamily(req, ctx);
  const peer = await remotePeer(req, family);
  const socket = await sendingSocket(req, ctx, family, protocol, req.options.number('sourceport'));
  const fromPeer = (from: RemoteInfo) => {
    const ok = from.address === peer.address && from.port === peer.port;
    if (!ok) ctx.log.log('I', 'recvfrom(): wrong peer address, ignoring packet');
    return ok;
  };
  return datagramEndpoint(socket, `${label(protocol)}-SENDTO ${formatSockaddr(peer.address, peer.port)}`, { peer, accept: fromPeer, empty: emptyWhenUnconnected(req.options) });
}

/**
 * UDP-DATAGRAM: sends to <host>:<port>, takes packets from anyone the range
 * allows. sourceport here means "replies must come from the peer's port", as in socat.
 */
async function openDatagram(req: AddressRequest, ctx: OpenContext): Promise<Endpoint> {
  const o = req.options;
  const protocol = protocolOf(req.keyword);
  const family = sendingFamily(req, ctx);
  const peer = await remotePeer(req, family);
  const socket = await sendingSocket(req, ctx, family, protocol, undefined);
  const check: PeerCheck = { range: o.has('range') ? await parseRange(o.string('range') as string) : undefined, sourcePort: o.has('sourceport') ? peer.port : undefined };
  return datagramEndpoint(socket, `${label(protocol)}-DATAGRAM ${formatSockaddr(peer.address, peer.port)}`, {
    peer,
    accept: (from) => peerAllowed(from, check, ctx.log),
    empty: emptyWhenUnconnected(o),
  });
}

/** UDP-RECV: receives on <port> from anyone the checks allow; never sends. */
async function openRecv(req: AddressRequest, ctx: OpenContext): Promise<Endpoint> {
  const { socket } = await receivingSocket(req, ctx, false, wantsAncillary(req.options));
  const check = await peerCheck(req.options);
  ctx.log.log('N', `receiving on ${localText(socket)}`);
  const endpoint = datagramEndpoint(socket, `${label(protocolOf(req.keyword))}-RECV ${localText(socket)}`, {
    accept: (from: RemoteInfo & Partial<AncillaryInfo>) => {
      // socat logs a packet's control messages before its peer checks
      reportAncillary(from.control, ctx.log);
      return peerAllowed(from, check, ctx.log);
    },
    empty: emptyWhenUnconnected(req.options),
  });
  // written to (-U, or -u with UDP-RECV second), socat's sendto() has no peer and fails
  endpoint.writable =
    req.mode === 'w'
      ? new Writable({ write: (_chunk, _encoding, done) => done(new TsocatError('sendto(): no peer address for a receiving address: Invalid argument', 'EINVAL')) })
      : undefined;
  endpoint.shutdownWrite = () => {};
  return endpoint;
}

/** SOCAT_PEERADDR and SOCAT_PEERPORT alone, as socat's RECVFROM exports them. */
const peerInfo = (peer: { address: string; port: number }): Record<string, string> => ({ PEERADDR: environmentAddress(peer.address), PEERPORT: String(peer.port) });

/** A session of a listener that shares its socket: fed the packets of one peer, writing to that peer. */
interface SharedSession {
  feed: HeldFeed;
  endpoint: Endpoint;
}

/**
 * One bound socket that hands out a session per peer (UDP-LISTEN with fork) or
 * per packet (UDP-RECVFROM): packets from a peer with a running session go to
 * it, others start a new session once the relay accepts one. The socket is
 * closed when the listener is closed and the last session has ended.
 */
function sharedSocketListener(
  socket: DgramSocket,
  req: AddressRequest,
  ctx: OpenContext,
  check: PeerCheck,
  perPacket: boolean,
  description: string,
): Listener {
  const protocol = protocolOf(req.keyword);
  const sessions = new Map<string, SharedSession>();
  /** Sessions handed out and not yet closed (RECVFROM's are not in `sessions`: their sender's next packet starts another). */
  let live = 0;
  const pending: Endpoint[] = [];
  const waiters: Array<{ resolve: (e: Endpoint) => void; reject: (e: Error) => void }> = [];
  let closed = false;
  let failure: TsocatError | undefined;

  const release = async () => {
    if (closed && live === 0) await closeQuietly(socket);
  };

  const newSession = (key: string, from: RemoteInfo): SharedSession => {
    const peer = { address: from.address, port: from.port };
    // a forked socat child reads a connected socket (an empty packet is end of file); a RECVFROM child reads one packet
    const feed = heldFeed(perPacket ? emptyWhenUnconnected(req.options) : 'eof');
    const writable = datagramWritable(socket, { peer });
    let ended = false;
    const endpoint = makeEndpoint({
      source: feed.source,
      writable,
      datagram: true,
      description: `${label(protocol)} ${formatSockaddr(peer.address, peer.port)}`,
      // socat's RECVFROM exports the peer only (its SOCK variables are commented out in xio-socket.c); a forked LISTEN child both
      connectionInfo: perPacket ? peerInfo(peer) : udpConnectionInfo(socket, peer, environmentAddress),
      shutdownWrite: perPacket ? () => writable.end() : () => void writable.write(Buffer.alloc(0)),
      async close() {
        if (ended) return;
        ended = true;
        live--;
        await finishWrites(writable);
        if (sessions.get(key)?.endpoint === endpoint) sessions.delete(key);
        await release();
      },
    });
    const session = { feed, endpoint };
    live++;
    if (!perPacket) sessions.set(key, session);
    return session;
  };

  const handOut = (endpoint: Endpoint) => {
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(endpoint);
    else if (pending.length < PENDING_MAX) pending.push(endpoint);
  };

  socket.on('message', (msg: Buffer, from: RemoteInfo & Partial<AncillaryInfo>) => {
    const key = `${from.address} ${from.port}`;
    const running = perPacket ? undefined : sessions.get(key);
    if (running) {
      running.feed.push(msg);
      return;
    }
    // an empty packet starts nothing (a port scan); with null-eof it would only end a session at once
    if (closed || msg.length === 0) return;
    const peerText = formatSockaddr(from.address, from.port);
    if (perPacket) ctx.log.log('N', `receiving packet from ${peerText}`);
    else ctx.log.log('N', `accepting ${label(protocol)} connection from ${peerText}`);
    const variables = reportAncillary(from.control, ctx.log);
    if (!peerAllowed(from, check, ctx.log)) {
      if (!perPacket) ctx.log.log('N', `forbidding ${label(protocol)} connection from ${peerText}`);
      return;
    }
    const session = newSession(key, from);
    // what the packet's control messages said (ip-pktinfo, ip-recvttl…), for the program started for it
    session.endpoint.connectionInfo = { ...session.endpoint.connectionInfo, ...variables };
    session.feed.push(msg);
    // socat's RECVFROM child reads exactly one packet, then its input is at end of file
    if (perPacket) session.feed.end();
    handOut(session.endpoint);
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    failure = new TsocatError(`recvfrom(): ${err.message}`, err.code ?? 'ERECV');
    for (const w of waiters.splice(0)) w.reject(failure);
  });

  return {
    kind: 'listener',
    description,
    accept() {
      return new Promise<Endpoint>((resolve, reject) => {
        if (failure) return reject(failure);
        if (closed) return reject(new TsocatError('listener closed', 'ECLOSED'));
        const e = pending.shift();
        if (e) resolve(e);
        else waiters.push({ resolve, reject });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const w of waiters.splice(0)) w.reject(new TsocatError('listener closed', 'ECLOSED'));
      for (const e of pending.splice(0)) await e.close();
      await release();
    },
  };
}

/**
 * UDP-LISTEN without fork: the first permitted packet's sender becomes the one
 * peer and the socket is connected to it, as socat does; its packet is the first read.
 */
async function firstPeerEndpoint(socket: DgramSocket, req: AddressRequest, ctx: OpenContext, check: PeerCheck, description: string): Promise<Listener> {
  const protocol = protocolOf(req.keyword);
  let closed = false;
  let taken = false;
  // packets from the chosen peer that come before the endpoint reads (connect() takes a turn of the event loop)
  const early: Buffer[] = [];
  let keepEarly: ((msg: Buffer, from: RemoteInfo) => void) | undefined;
  const first = new Promise<{ msg: Buffer; from: RemoteInfo }>((resolve, reject) => {
    const onMessage = (msg: Buffer, from: RemoteInfo) => {
      const peerText = formatSockaddr(from.address, from.port);
      ctx.log.log('N', `accepting ${label(protocol)} connection from ${peerText}`);
      if (!peerAllowed(from, check, ctx.log)) {
        ctx.log.log('N', `forbidding ${label(protocol)} connection from ${peerText}`);
        return;
      }
      socket.off('message', onMessage);
      keepEarly = (m, f) => {
        if (f.address === from.address && f.port === from.port) early.push(m);
      };
      socket.on('message', keepEarly);
      resolve({ msg, from });
    };
    socket.on('message', onMessage);
    socket.once('error', (err: NodeJS.ErrnoException) => reject(new TsocatError(`recvfrom(): ${err.message}`, err.code ?? 'ERECV')));
  });
  return {
    kind: 'listener',
    description,
    async accept() {
      const { msg, from } = await first;
      taken = true;
      const peer = { address: from.address, port: from.port };
      await connectUdp(socket, peer.address, peer.port);
      if (keepEarly) socket.off('message', keepEarly);
      const endpoint = datagramEndpoint(socket, `${label(protocol)} ${formatSockaddr(peer.address, peer.port)}`, {
        initial: [msg, ...early],
        empty: 'eof',
        accept: (f) => f.address === peer.address && f.port === peer.port,
        batchable: true,
      });
      endpoint.connectionInfo = udpConnectionInfo(socket, peer, environmentAddress);
      return sendEmptyOnShutdown(endpoint);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (!taken) await closeQuietly(socket);
    },
  };
}

async function openListen(req: AddressRequest, ctx: OpenContext): Promise<Listener> {
  const fork = req.options.bool('fork');
  const check = await peerCheck(req.options);
  // socat sets SO_REUSEADDR on a forking UDP listener's socket
  const { socket } = await receivingSocket(req, ctx, fork);
  const protocol = protocolOf(req.keyword);
  ctx.log.startRunning('starting accept loop');
  ctx.log.log('N', `listening on ${label(protocol)} ${localText(socket)}`);
  const description = `${label(protocol)}-LISTEN ${localText(socket)}`;
  return fork ? sharedSocketListener(socket, req, ctx, check, false, description) : firstPeerEndpoint(socket, req, ctx, check, description);
}

async function openRecvFrom(req: AddressRequest, ctx: OpenContext): Promise<Listener> {
  const check = await peerCheck(req.options);
  const { socket } = await receivingSocket(req, ctx, false, wantsAncillary(req.options));
  ctx.log.startRunning('starting recvfrom loop');
  ctx.log.log('N', `receiving on ${localText(socket)}`);
  return sharedSocketListener(socket, req, ctx, check, true, `${label(protocolOf(req.keyword))}-RECVFROM ${localText(socket)}`);
}

/** Keywords of one kind for one flavour, with socat's 4/6 variants and short names. */
function names(stem: string, kind: string, shortKind?: string): { names: string[]; listed: string[] } {
  const all: string[] = [];
  const listed: string[] = [];
  for (const v of ['', '4', '6']) {
    listed.push(`${stem}${v}-${kind}`);
    all.push(`${stem}${v}-${kind}`);
    if (shortKind) all.push(`${stem}${v}-${shortKind}`);
    if (kind === 'CONNECT') all.push(`${stem}${v}`);
  }
  return { names: all, listed };
}

function pluginsOf({ stem }: Flavour): AddressPlugin[] {
  const base = stem === 'UDPLITE' ? ([...BASE, 'UDPLITE'] as const) : BASE;
  const what = stem === 'UDPLITE' ? 'UDP-Lite' : 'UDP';
  const features = [stem, 'IP4', 'IP6'];
  return [
    defineAddress({
      ...names(stem, 'CONNECT'),
      params: ['host', 'port'],
      groups: base,
      features,
      summary: `${what} socket connected to <host>:<port>: packets only from there, an empty one is end of file`,
      open: openConnect,
    }),
    defineAddress({
      ...names(stem, 'LISTEN', 'L'),
      params: ['port'],
      groups: [...base, 'LISTEN', 'CHILD', 'RANGE'],
      features: [...features, 'LISTEN'],
      summary: `wait for a ${what} packet on <port>; its sender becomes the peer (with fork: one session per sender address)`,
      open: openListen,
    }),
    defineAddress({
      ...names(stem, 'SENDTO', 'SEND'),
      params: ['host', 'port'],
      groups: base,
      features,
      summary: `send ${what} packets to <host>:<port>, take packets only from there`,
      open: openSendTo,
    }),
    defineAddress({
      ...names(stem, 'RECVFROM'),
      params: ['port'],
      groups: [...base, 'CHILD', 'RANGE'],
      features,
      summary: `receive one ${what} packet on <port> and answer its sender (with fork: a session per packet)`,
      open: openRecvFrom,
    }),
    defineAddress({
      ...names(stem, 'RECV'),
      params: ['port'],
      groups: [...base, 'RANGE'],
      features,
      directions: 'r',
      summary: `receive ${what} packets on <port> from any sender (read only)`,
      open: openRecv,
    }),
    defineAddress({
      ...names(stem, 'DATAGRAM', 'DGRAM'),
      params: ['host', 'port'],
      groups: [...base, 'RANGE'],
      features,
      summary: `send ${what} packets to <host>:<port> (also broadcast or multicast), take packets from any sender the range allows`,
      open: openDatagram,
    }),
  ];
}

export default FLAVOURS.flatMap(pluginsOf);
