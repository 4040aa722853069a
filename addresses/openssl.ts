/**
 * OPENSSL (SSL) and OPENSSL-LISTEN (SSL-L): TLS over TCP with Node's tls
 * module. The TCP side is TCP's and TCP-LISTEN's own code (connectTcpSocket,
 * openTcpListener), so every TCP, socket and listener option works as there.
 * A listener's handshake runs per peer (Endpoint.ready): a slow or refused
 * client holds up no other.
 */
import type { PeerCertificate, SecureContext, TLSSocket } from 'node:tls';
import { type AddressRequest, defineAddress } from '../src/define.js';
import type { OpenContext } from '../src/engine/context.js';
import { formatSockaddr, unbracket } from '../src/engine/sockets/inet.js';
import { socketEndpoint } from '../src/engine/sockets/socket-endpoint.js';
import { checkPeer, clientNames, contextOptions, handshakeError, secureContext } from '../src/engine/handshakes/tls-setup.js';
import { TsocatError } from '../src/errors.js';
import { connectTcpSocket } from '../src/engine/sockets/tcp-connect.js';
import { openTcpListener } from '../src/engine/sockets/tcp-listener.js';
import { tls as loadTls } from '../src/sys/builtins.js';

type Tls = typeof import('node:tls');

const CLIENT_GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'OPENSSL', 'CHILD', 'RETRY', 'APPL'] as const;
const SERVER_GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'LISTEN', 'OPENSSL', 'CHILD', 'RANGE', 'RETRY', 'APPL'] as const;

/** verify is on unless turned off, as in socat. */
const verifying = (req: AddressRequest) => !req.options.has('openssl-verify') || req.options.bool('openssl-verify');

/**
 * Node's name check (subjectAltName, and the commonName only for DNS names without
 * one), then socat's own: a commonName equal to the name, or to an IPv6 address in
 * brackets as socat's test certificates carry it ("[::1]").
 */
function nameMismatch(tls: Tls, name: string, cert: PeerCertificate): Error | undefined {
  const nodeSays = tls.checkServerIdentity(name, cert);
  if (!nodeSays) return undefined;
  const names = [cert.subject?.CN ?? []].flat().map((cn) => String(cn).toLowerCase());
  const wanted = name.toLowerCase();
  return names.includes(wanted) || names.includes(`[${wanted}]`) ? undefined : nodeSays;
}

/** Resolves when the handshake is done; rejects with socat's words. */
function handshake(socket: TLSSocket, event: 'secure' | 'secureConnect', call: 'SSL_connect' | 'SSL_accept'): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(handshakeError(call, err));
    socket.once('error', fail);
    const closed = () => reject(new TsocatError(`${call}(): socket closed by peer`, 'ETLSHANDSHAKE'));
    // a peer that goes away mid-handshake may bring only an end of data (no error, and no close while half open)
    socket.once('end', closed);
    socket.once('close', closed);
    socket.once(event, () => {
      socket.off('error', fail);
      socket.off('end', closed);
      socket.off('close', closed);
      resolve();
    });
  });
}

const client = defineAddress({
  listed: ['OPENSSL', 'SSL'],
  names: ['OPENSSL', 'OPENSSL-CONNECT', 'SSL'],
  params: ['host', 'port'],
  groups: CLIENT_GROUPS,
  features: ['OPENSSL'],
  refused: {
    'OPENSSL-DTLS-CLIENT': "DTLS is not available (Node's tls module has no DTLS)",
    'OPENSSL-DTLS-SERVER': "DTLS is not available (Node's tls module has no DTLS)",
  },
  summary: 'TLS client: connect to <host>:<port> and check its certificate (cafile, commonname; verify=0 skips)',
  async open(req, ctx) {
    const tls: Tls = loadTls();
    const o = req.options;
    const host = unbracket(req.params[0] as string);
    const context = secureContext(tls, contextOptions(o, false), o);
    const { peerName, servername } = clientNames(o, host);
    ctx.log.log('N', `opening OpenSSL connection to ${req.params[0]}:${req.params[1]}`);
    const tcp = await connectTcpSocket(req, ctx, req.params[0] as string, req.params[1] as string, 0);
    const socket = tls.connect({ socket: tcp, secureContext: context, servername, rejectUnauthorized: false, checkServerIdentity: () => undefined, allowHalfOpen: true } as import('node:tls').ConnectionOptions);
    let env: Record<string, string>;
    try {
      await handshake(socket, 'secureConnect', 'SSL_connect');
      env = checkPeer(socket, { verify: verifying(req), peerName, log: ctx.log, checkName: (name, cert) => nameMismatch(tls, name, cert) });
    } catch (err) {
      socket.destroy();
      throw err;
    }
    socket.pause();
    ctx.log.log('N', `successfully connected to SSL server ${req.params[0]}:${req.params[1]}`);
    const endpoint = socketEndpoint(socket, `OPENSSL ${formatSockaddr(tcp.remoteAddress, tcp.remotePort)}`, req.mode);
    endpoint.connectionInfo = env;
    return endpoint;
  },
});

/** One accepted TCP socket made a TLS server connection; `ready` settles with its handshake and checks. */
function serverPeer(tls: Tls, context: SecureContext, verify: boolean, commonName: string | undefined) {
  return (tcp: import('node:net').Socket, req: AddressRequest, ctx: OpenContext) => {
    const socket = new tls.TLSSocket(tcp, { isServer: true, secureContext: context, requestCert: verify, rejectUnauthorized: false });
    // the remote address is asked of the TCP socket: the TLS one may be destroyed before anyone logs it
    const endpoint = socketEndpoint(socket, `OPENSSL ${formatSockaddr(tcp.remoteAddress, tcp.remotePort)}`, req.mode);
    endpoint.ready = handshake(socket, 'secure', 'SSL_accept').then(() => {
      const env = checkPeer(socket, {
        verify,
        peerName: commonName,
        log: ctx.log,
        // a server checks a client's name only when commonname asks it to, against the certificate's names
        checkName: (name: string, cert: PeerCertificate) => nameMismatch(tls, name, cert),
      });
      endpoint.connectionInfo = { ...endpoint.connectionInfo, ...env };
    });
    // the handshake's failure is the session's to report; unheard it would be an unhandled rejection
    endpoint.ready.catch(() => {});
    return endpoint;
  };
}

const server = defineAddress({
  listed: ['OPENSSL-LISTEN', 'SSL-L'],
  names: ['OPENSSL-LISTEN', 'SSL-L', 'SSL-LISTEN'],
  params: ['port'],
  groups: SERVER_GROUPS,
  features: ['OPENSSL', 'LISTEN'],
  summary: 'TLS server: listen on <port> (cert= required; verify=1 with cafile= requires client certificates)',
  async open(req, ctx) {
    const o = req.options;
    if (!o.has('openssl-certificate')) throw new TsocatError('no certificate given; consider option "cert"', 'ENOCERT');
    const tls: Tls = loadTls();
    const context = secureContext(tls, contextOptions(o, true), o);
    return openTcpListener(req, ctx, serverPeer(tls, context, verifying(req), o.string('openssl-commonname')));
  },
});

export default [client, server];
