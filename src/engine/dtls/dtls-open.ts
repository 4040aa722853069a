/**
 * OPENSSL-DTLS-CLIENT and OPENSSL-DTLS-SERVER as socat makes them: a UDP
 * socket with the address's options, connected to the peer (the server
 * learns its peer from the first datagram, which stays queued for OpenSSL),
 * a DTLS handshake over it (dtls-link.ts), socat's certificate checks, and
 * then an endpoint that carries one record per chunk.
 */
import { isIP } from 'node:net';
import { tls as loadTls } from '../../sys/builtins.js';
import { TsocatError } from '../../errors.js';
import { openssl, setServerName } from '../../sys/openssl.js';
import { DescriptorWatch, UV_READABLE } from '../../sys/poll.js';
import type { AddressRequest, OpenContext } from '../context.js';
import { type Endpoint, type Listener, makeEndpoint } from '../endpoint.js';
import { nameMismatch } from '../handshakes/tls-connection.js';
import { checkPeer } from '../handshakes/tls-setup.js';
import { chooseFamily, environmentAddress, familyFromEnv, formatSockaddr, parseHostPort, parsePort, resolveHost, sockaddrBytes, unbracket } from '../sockets/inet.js';
import { parseRange } from '../sockets/ip-range.js';
import { anyAddress, boundUdpSocket, IPPROTO_UDP } from '../sockets/messages/udp-socket.js';
import { parseSockaddr } from '../sockets/sockaddr.js';
import { dtlsContext, peerView, verifyingDtls } from './dtls-context.js';
import { DtlsLink } from './dtls-link.js';

/** Options the DTLS addresses' groups let through that they do not carry out, each with the reason. */
const REFUSED: Record<string, string> = {
  lowport: 'the DTLS client binds with bind= or sourceport=',
  'connect-timeout': 'a UDP connect does not wait; so-rcvtimeo bounds the DTLS handshake',
  backlog: 'a UDP socket has no queue of connections',
  broker: 'DTLS sessions are relayed one by one, not joined in one conversation',
};

function refuseUnhonoured(req: AddressRequest): void {
  for (const [name, why] of Object.entries(REFUSED)) {
    if (req.options.has(name)) throw new TsocatError(`option "${name}" does not apply to ${req.keyword}: ${why}`, 'EOPTAPPLY');
  }
}

/** bind=[host][:port] resolved for the family. */
async function bindTo(req: AddressRequest, family: 4 | 6): Promise<{ address?: string; port?: number }> {
  const text = req.options.string('bind');
  if (text === undefined) return {};
  const { host, port } = parseHostPort(text);
  return { address: host ? await resolveHost(host, port ?? 'NULL', family, req.options) : undefined, port: port ? parsePort(port, host ?? '', 'udp') : undefined };
}

/** so-rcvtimeo in milliseconds: how long the handshake waits for each datagram from the peer. */
const quietLimit = (req: AddressRequest): number | undefined => {
  const seconds = req.options.number('so-rcvtimeo');
  return seconds === undefined ? undefined : seconds * 1000;
};

/** The link's endpoint: datagrams both ways, close_notify as our end of file. */
function linkEndpoint(link: DtlsLink, description: string, env: Record<string, string>): Endpoint {
  const { readable, writable } = link.streams();
  return makeEndpoint({
    readable,
    writable,
    datagram: true,
    readFd: link.fd,
    description,
    connectionInfo: env,
    shutdownWrite: () => writable.end(),
    close: () => link.close(),
  });
}

/** The handshake and socat's checks on a link; the link is closed when they fail. Returns the OPENSSL_* variables. */
async function secure(link: DtlsLink, req: AddressRequest, ctx: OpenContext, client: { host: string } | undefined): Promise<Record<string, string>> {
  try {
    const opts = req.options;
    const peerName = client ? (opts.string('openssl-commonname') ?? client.host) : opts.string('openssl-commonname');
    if (client) {
      const sni = opts.string('openssl-snihost') ?? (peerName || client.host);
      if (!opts.bool('openssl-no-sni') && !isIP(sni)) setServerName(link.ssl, sni);
    }
    await link.handshake(client !== undefined, quietLimit(req), ctx.signal);
    const tls = loadTls();
    return checkPeer(peerView(link.ssl), {
      verify: verifyingDtls(opts),
      peerName,
      fingerprint: opts.string('openssl-fingerprint'),
      log: ctx.log,
      checkName: (name, cert) => nameMismatch(tls, name, cert),
    });
  } catch (err) {
    await link.close();
    throw err;
  }
}

/** OPENSSL-DTLS-CLIENT:<host>:<port>. */
export async function openDtlsClient(req: AddressRequest, ctx: OpenContext): Promise<Endpoint> {
  refuseUnhonoured(req);
  const o = req.options;
  const [hostText, portText] = req.params as [string, string];
  const host = unbracket(hostText);
  const family = chooseFamily(0, host, ctx.settings.preferredFamily || familyFromEnv('SOCAT_PREFERRED_RESOLVE_IP'), o.string('pf'));
  const port = parsePort(portText, host, 'udp');
  if (port === 0) throw new TsocatError(`${req.keyword}: invalid destination port "${portText}" (1-65535)`, 'EBADPORT');
  const sslCtx = dtlsContext(o, false, req.keyword);
  let fd: number | undefined;
  let address: string;
  try {
    address = await resolveHost(host, portText, family, o);
    const bound = await bindTo(req, family);
    fd = await boundUdpSocket({ family, protocol: IPPROTO_UDP, local: { address: bound.address ?? anyAddress(family), port: o.number('sourceport') ?? bound.port ?? 0 }, options: o, log: ctx.log });
    ctx.log.log('N', `opening DTLS connection to ${formatSockaddr(address, port)}`);
    const sys = await import('../../sys/sockets.js');
    sys.connectSocket(fd, sockaddrBytes(address, port), formatSockaddr(address, port));
  } catch (err) {
    openssl().SSL_CTX_free(sslCtx);
    if (fd !== undefined) (await import('../../sys/sockets.js')).closeDescriptor(fd);
    throw err;
  }
  const o2 = openssl();
  const ssl = o2.SSL_new(sslCtx);
  o2.SSL_CTX_free(sslCtx); // the SSL object holds its own reference
  const link = new DtlsLink(fd, ssl, sockaddrBytes(address, port), ctx.settings.blockSize);
  const env = await secure(link, req, ctx, { host });
  ctx.log.log('N', `successfully connected to SSL server ${hostText}:${portText}`);
  return linkEndpoint(link, `OPENSSL-DTLS ${formatSockaddr(host, port)}`, env);
}

/** Waits until `fd` is readable (the first datagram), or the relay stops or the listener closes. */
function firstDatagram(fd: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new TsocatError('listening aborted', 'EABORT'));
    const aborted = () => void watch.close().then(() => reject(new TsocatError('listening aborted', 'EABORT')));
    const watch = new DescriptorWatch(
      fd,
      () => {
        signal.removeEventListener('abort', aborted);
        void watch.close().then(resolve);
      },
      false,
    );
    signal.addEventListener('abort', aborted, { once: true });
    watch.want(UV_READABLE);
  });
}

/**
 * OPENSSL-DTLS-SERVER:<port>: a listener whose peers are senders. The socket a client's first
 * datagram reaches is connected to that client and becomes its session's; with fork, a new socket is
 * bound to the same address first (SO_REUSEADDR on both), and the kernel hands each client's datagrams
 * to the socket connected to it, the others' to the new one. Each peer's handshake is its own
 * (Endpoint.ready), so a slow or refused client holds up no other.
 */
export async function openDtlsServer(req: AddressRequest, ctx: OpenContext): Promise<Listener> {
  refuseUnhonoured(req);
  const o = req.options;
  const fork = o.bool('fork');
  const bindHost = parseHostPort(o.string('bind') ?? '').host ?? '';
  const family = chooseFamily(0, bindHost, ctx.settings.preferredFamily || familyFromEnv('SOCAT_DEFAULT_LISTEN_IP'), o.string('pf'));
  const port = parsePort(req.params[0] as string, '', 'udp');
  const range = o.has('range') ? await parseRange(o.string('range') as string) : undefined;
  const sslCtx = dtlsContext(o, true, req.keyword);
  const sys = await import('../../sys/sockets.js');
  const bound = await bindTo(req, family).catch((err) => {
    openssl().SSL_CTX_free(sslCtx);
    throw err;
  });
  const local = { address: bound.address ?? anyAddress(family), port };
  // socat's forking listener sets SO_REUSEADDR; here every session's socket shares the address
  const bindSocket = () => boundUdpSocket({ family, protocol: IPPROTO_UDP, local, options: o, reuseAddr: fork, log: ctx.log });
  let fd: number | undefined;
  try {
    fd = await bindSocket();
  } catch (err) {
    openssl().SSL_CTX_free(sslCtx);
    throw err;
  }
  ctx.log.log('N', `listening on UDP ${formatSockaddr(local.address, port)}`);
  ctx.log.startRunning('starting accept loop');
  const closing = new AbortController();
  const stop = AbortSignal.any([closing.signal, ctx.signal]);
  const description = `OPENSSL-DTLS-SERVER ${formatSockaddr(local.address, port)}`;
  return {
    kind: 'listener',
    description,
    async accept() {
      if (fd === undefined) throw new TsocatError(`${description}: closed`, 'ECLOSED');
      const peer = await waitForPeer(fd, ctx, sys, range, stop);
      const mine = fd;
      // the next clients' socket is bound before this one is connected, so none of them meets a closed port
      fd = fork ? await bindSocket() : undefined;
      const peerAddress = sockaddrBytes(peer.address, peer.port);
      sys.connectSocket(mine, peerAddress, formatSockaddr(peer.address, peer.port));
      ctx.log.log('N', `accepting UDP connection from ${formatSockaddr(peer.address, peer.port)}`);
      const o2 = openssl();
      const ssl = o2.SSL_new(sslCtx);
      const link = new DtlsLink(mine, ssl, peerAddress, ctx.settings.blockSize);
      const env: Record<string, string> = { ...socketEnv(sys, mine, family, port), PEERADDR: environmentAddress(peer.address), PEERPORT: String(peer.port) };
      const endpoint = linkEndpoint(link, `OPENSSL-DTLS ${formatSockaddr(peer.address, peer.port)}`, env);
      endpoint.ready = secure(link, req, ctx, undefined).then((checked) => {
        Object.assign(env, checked);
      });
      endpoint.ready.catch(() => {});
      return endpoint;
    },
    async close() {
      closing.abort();
      if (fd !== undefined) sys.closeDescriptor(fd);
      fd = undefined;
      openssl().SSL_CTX_free(sslCtx);
    },
  };
}

/** SOCAT_SOCKADDR and SOCAT_SOCKPORT of a session's socket. */
function socketEnv(sys: typeof import('../../sys/sockets.js'), fd: number, family: 4 | 6, port: number): Record<string, string> {
  const local = parseSockaddr(sys.localAddressOf(fd) ?? Buffer.alloc(0));
  return {
    SOCKADDR: environmentAddress('address' in local ? (local.address as string) : anyAddress(family)),
    SOCKPORT: String('port' in local ? local.port : port),
  };
}

/** The sender of the first datagram the range lets in; others' datagrams are read and dropped, as socat refuses them. */
async function waitForPeer(
  fd: number,
  ctx: OpenContext,
  sys: typeof import('../../sys/sockets.js'),
  range: import('../sockets/ip-range.js').IpRanges | undefined,
  signal: AbortSignal,
): Promise<{ address: string; port: number }> {
  const scratch = Buffer.alloc(1);
  for (;;) {
    await firstDatagram(fd, signal);
    const got = sys.receive(fd, scratch, { from: true, peek: true });
    if (!got?.from) continue;
    const from = parseSockaddr(got.from);
    if (!('port' in from) || !('address' in from)) continue;
    const peer = { address: from.address as string, port: from.port as number };
    if (!range || range.check(peer.address)) return peer;
    ctx.log.log('W', `refusing connection from ${formatSockaddr(peer.address, peer.port)} due to range option`);
    sys.receive(fd, scratch);
  }
}
