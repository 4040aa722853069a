/**
 * A TLS connection as the OPENSSL addresses make it, for every address that
 * speaks something over TLS (OPENSSL, OPENSSL-LISTEN, WSS, WSS-LISTEN): the
 * client's connect, handshake and peer checks, and a listener's per-peer
 * handshake. node:tls is loaded only when one of them opens.
 */
import type { Socket } from 'node:net';
import type { PeerCertificate, SecureContext, TLSSocket } from 'node:tls';
import { tls as loadTls } from '../../sys/builtins.js';
import { TsocatError } from '../../errors.js';
import type { AddressRequest, OpenContext } from '../context.js';
import { connectTcpSocket } from '../sockets/tcp-connect.js';
import { unbracket } from '../sockets/inet.js';
import { sendProxyHeader } from './proxy-header-use.js';
import { AUTO_CERTIFICATE, selfSignedCertificate } from './self-signed.js';
import { checkPeer, clientNames, contextOptions, handshakeError, secureContext } from './tls-setup.js';

type Tls = typeof import('node:tls');

/** The address's SecureContext options, with the certificate cert=auto makes (once, when the address opens). */
async function contextFor(req: AddressRequest, ctx: OpenContext, server: boolean) {
  const o = req.options;
  const made = o.string('openssl-certificate') === AUTO_CERTIFICATE ? await selfSignedCertificate(ctx.log) : undefined;
  // there is no method to choose: Node's OpenSSL, like Debian's, is built without zlib, so socat says the same two things there
  const compress = o.string('openssl-compress')?.toLowerCase();
  if (compress !== undefined) ctx.log.log('I', compress === 'none' ? 'Disabling OpenSSL compression' : 'Using default OpenSSL compression');
  return contextOptions(o, server, made);
}

/** verify is on unless turned off, as in socat. */
export const verifying = (req: AddressRequest) => !req.options.has('openssl-verify') || req.options.bool('openssl-verify');

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

export interface TlsClientConnection {
  /** The TLS socket, paused, its handshake done and its peer checked. */
  socket: TLSSocket;
  /** The TCP socket beneath, for the peer's address. */
  tcp: Socket;
  /** socat's OPENSSL_* variables for programs started for this connection. */
  env: Record<string, string>;
}

/**
 * OPENSSL's client: TCP to <hostText>:<portText> with the address's TCP options,
 * then TLS with its OPENSSL options; the certificate is checked as socat does.
 */
export async function connectTls(req: AddressRequest, ctx: OpenContext, hostText: string, portText: string): Promise<TlsClientConnection> {
  const tls: Tls = loadTls();
  const o = req.options;
  const host = unbracket(hostText);
  const context = secureContext(tls, await contextFor(req, ctx, false), o);
  const { peerName, servername } = clientNames(o, host);
  ctx.log.log('N', `opening OpenSSL connection to ${hostText}:${portText}`);
  const tcp = await connectTcpSocket(req, ctx, hostText, portText, 0);
  // the header goes before the TLS handshake, as a load balancer sends it
  await sendProxyHeader(tcp, req, ctx).catch((err) => {
    tcp.destroy();
    throw err;
  });
  const socket = tls.connect({ socket: tcp, secureContext: context, servername, rejectUnauthorized: false, checkServerIdentity: () => undefined, allowHalfOpen: true } as import('node:tls').ConnectionOptions);
  let env: Record<string, string>;
  try {
    await handshake(socket, 'secureConnect', 'SSL_connect');
    env = checkPeer(socket, { verify: verifying(req), peerName, fingerprint: o.string('openssl-fingerprint'), log: ctx.log, checkName: (name, cert) => nameMismatch(tls, name, cert) });
  } catch (err) {
    socket.destroy();
    throw err;
  }
  socket.pause();
  ctx.log.log('N', `successfully connected to SSL server ${hostText}:${portText}`);
  return { socket, tcp, env };
}

/** One accepted peer inside TLS: its socket at once, and its handshake and checks as they settle. */
export interface TlsServerPeer {
  socket: TLSSocket;
  /** Settles with the OPENSSL_* variables once the handshake is done and the peer checked. */
  ready: Promise<Record<string, string>>;
}

/**
 * OPENSSL-LISTEN's side of each peer: the secure context is made once, when the
 * listener opens (a missing cert= or a bad file fails then, and cert=auto makes its
 * certificate then); the returned function
 * starts the handshake on one accepted TCP socket.
 */
export async function tlsServer(req: AddressRequest, ctx: OpenContext): Promise<(tcp: Socket) => TlsServerPeer> {
  const o = req.options;
  if (!o.has('openssl-certificate')) throw new TsocatError('no certificate given; consider option "cert"', 'ENOCERT');
  const tls: Tls = loadTls();
  const context: SecureContext = secureContext(tls, await contextFor(req, ctx, true), o);
  const verify = verifying(req);
  const commonName = o.string('openssl-commonname');
  return (tcp) => {
    const socket = new tls.TLSSocket(tcp, { isServer: true, secureContext: context, requestCert: verify, rejectUnauthorized: false });
    const ready = handshake(socket, 'secure', 'SSL_accept').then(() =>
      checkPeer(socket, {
        verify,
        peerName: commonName,
        log: ctx.log,
        // a server checks a client's name only when commonname asks it to, against the certificate's names
        checkName: (name: string, cert: PeerCertificate) => nameMismatch(tls, name, cert),
      }),
    );
    // the handshake's failure is the session's to report; unheard it would be an unhandled rejection
    ready.catch(() => {});
    return { socket, ready };
  };
}
