/**
 * The OPENSSL addresses' options turned into Node's tls settings, and the
 * peer-certificate checks and log lines socat makes after a handshake. Kept
 * apart from addresses/openssl.ts so the plugin stays the open() glue; node:tls
 * is loaded only when an OPENSSL address opens (start-up time of other runs).
 */
import { createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { PeerCertificate, SecureContextOptions, TLSSocket } from 'node:tls';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { strerror, TsocatError, type SystemError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';

type TlsVersion = NonNullable<SecureContextOptions['minVersion']>;

/** socat's version names (and Node's own) to Node's. */
const VERSIONS: Record<string, TlsVersion> = {
  TLS1: 'TLSv1',
  'TLS1.0': 'TLSv1',
  'TLS1.1': 'TLSv1.1',
  'TLS1.2': 'TLSv1.2',
  'TLS1.3': 'TLSv1.3',
  TLSV1: 'TLSv1',
  'TLSV1.1': 'TLSv1.1',
  'TLSV1.2': 'TLSv1.2',
  'TLSV1.3': 'TLSv1.3',
};

function tlsVersion(text: string, option: string): TlsVersion {
  const version = VERSIONS[text.toUpperCase()];
  if (version) return version;
  if (/^(SSL|DTLS)/i.test(text)) throw new TsocatError(`${option}="${text}": Node's TLS offers TLS1 to TLS1.3 only`, 'EOPTVALUE');
  throw new TsocatError(`Unknown SSL/TLS version "${text}" (use forms like "TLS1.2")`, 'EOPTVALUE');
}

/** socat 1.7's method: one version, or any (SSL23, TLS). */
function methodVersions(text: string): { minVersion?: TlsVersion; maxVersion?: TlsVersion } {
  if (/^(SSL23|TLS)$/i.test(text)) return {};
  const version = VERSIONS[text.toUpperCase()];
  if (!version) throw new TsocatError(`openssl-method="${text}": method unknown or not provided by library`, 'EOPTVALUE');
  return { minVersion: version, maxVersion: version };
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TsocatError(`${what}("${path}"): ${strerror(err as SystemError)}`, (err as SystemError).code ?? 'EOPEN');
  }
}

/** capath: every certificate in the directory's files (the hash links point at the same ones). */
function certificatesIn(dir: string): Buffer[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new TsocatError(`SSL_CTX_load_verify_locations(NULL, "${dir}"): ${strerror(err as SystemError)}`, (err as SystemError).code ?? 'EOPEN');
  }
  const found: Buffer[] = [];
  for (const name of names.sort()) {
    try {
      const text = readFileSync(join(dir, name));
      if (text.includes('-----BEGIN CERTIFICATE-----')) found.push(text);
    } catch {
      // a subdirectory or unreadable entry holds no certificate for us, as OpenSSL skips it
    }
  }
  return found;
}

/**
 * The SecureContext options an OPENSSL address asks for; files are read here, so a missing one fails before any connection.
 * `made`: the certificate cert=auto made, used instead of a file.
 */
export function contextOptions(o: ResolvedOptions, server: boolean, made?: { cert: string; key: string }): SecureContextOptions {
  const opts: SecureContextOptions = {};
  const cert = o.string('openssl-certificate');
  const key = o.string('openssl-key');
  if (made) {
    if (key !== undefined) throw new TsocatError('option "key" does not go with cert=auto (the key is made with the certificate)', 'EOPTVALUE');
    opts.cert = made.cert;
    opts.key = made.key;
  } else if (cert !== undefined) {
    opts.cert = readPem(cert, 'SSL_CTX_use_certificate_file');
    // socat's cert file may hold the key too; key= names another file
    opts.key = key !== undefined ? readPem(key, 'SSL_CTX_use_PrivateKey_file') : opts.cert;
  } else if (key !== undefined) {
    throw new TsocatError('option "key" needs option "cert" (the certificate the key belongs to)', 'EOPTVALUE');
  }
  const ca: Buffer[] = [];
  const cafile = o.string('openssl-cafile');
  if (cafile !== undefined) ca.push(readPem(cafile, 'SSL_CTX_load_verify_locations'));
  const capath = o.string('openssl-capath');
  if (capath !== undefined) ca.push(...certificatesIn(capath));
  if (ca.length) opts.ca = ca;
  const method = o.string('openssl-method');
  if (method !== undefined) Object.assign(opts, methodVersions(method));
  const min = o.string('openssl-min-proto-version');
  if (min !== undefined) opts.minVersion = tlsVersion(min, 'openssl-min-proto-version');
  const max = o.string('openssl-max-proto-version');
  if (max !== undefined) opts.maxVersion = tlsVersion(max, 'openssl-max-proto-version');
  const ciphers = o.string('openssl-cipherlist');
  if (ciphers !== undefined) opts.ciphers = ciphers;
  const dh = o.string('openssl-dhparam');
  if (server && o.has('openssl-fingerprint')) throw new TsocatError('option "fingerprint" applies to a TLS client (OPENSSL, WSS): it pins the server\'s certificate', 'EOPTAPPLY');
  if (dh !== undefined) {
    if (!server) throw new TsocatError('option "dhparam" applies to a TLS server (OPENSSL-LISTEN)', 'EOPTAPPLY');
    const text = readPem(dh, 'PEM_read_bio_DHparams');
    // Node passes over a file without parameters in silence; socat's read of it fails
    opts.dhparam = dhParameters(text);
    if (opts.dhparam === undefined) throw new TsocatError(`PEM_read_bio_DHparams("${dh}"): no DH parameters in the file`, 'EOPTVALUE');
  }
  if (server) serverDefaults(opts);
  return opts;
}

/** The DH parameters block of a PEM file (PKCS#3, or also X9.42 when `x942`), or undefined when it has none. */
function dhParameters(pem: Buffer, x942 = true): Buffer | undefined {
  const pattern = x942 ? /-----BEGIN (X9\.42 )?DH PARAMETERS-----[^-]+-----END (X9\.42 )?DH PARAMETERS-----/ : /-----BEGIN DH PARAMETERS-----[^-]+-----END DH PARAMETERS-----/;
  const found = pattern.exec(pem.toString('latin1'));
  return found ? Buffer.from(found[0], 'latin1') : undefined;
}

/**
 * What socat's server has without being asked. DHE: socat always sets DH
 * parameters (its own 2048-bit group, or those in the dhparam file, or else in
 * the certificate file); Node has none unless given, so a DHE-only client got
 * no shared cipher. A DSA key: DSA signs nothing in TLS 1.3, and OpenSSL would
 * fall back to 1.2 by itself, but not with the server-name callback Node always
 * installs (a callback could switch to another certificate); so the version is
 * capped here, unless max-proto-version says otherwise.
 */
function serverDefaults(opts: SecureContextOptions): void {
  // X9.42 parameters found beside a certificate are passed over: the OpenSSL of Node 24 and later refuses every
  // DHE cipher with them (no shared cipher), where the built-in group serves the same clients
  if (opts.dhparam === undefined && opts.cert !== undefined) opts.dhparam = dhParameters(opts.cert as Buffer, false) ?? 'auto';
  if (opts.maxVersion === undefined && opts.key !== undefined && keyType(opts.key as Buffer) === 'dsa') opts.maxVersion = 'TLSv1.2';
}

function keyType(pem: Buffer): string | undefined {
  try {
    return createPrivateKey(pem).asymmetricKeyType;
  } catch {
    // a key that does not parse is reported where the context is made, in socat's words
    return undefined;
  }
}

/** Node's createSecureContext, its failures (a key that does not fit, a bad cipher list) in socat's terms. */
export function secureContext(tls: typeof import('node:tls'), opts: SecureContextOptions, o: ResolvedOptions) {
  try {
    return tls.createSecureContext(opts);
  } catch (err) {
    const e = err as Error & { code?: string; reason?: string };
    const reason = e.reason ?? e.message;
    if (/cipher/i.test(reason)) throw new TsocatError(`SSL_CTX_set_cipher_list(, "${o.string('openssl-cipherlist')}"): ${reason}`, 'ETLSCONTEXT');
    if (/key values mismatch|private key/i.test(reason)) throw new TsocatError(`SSL_CTX_use_PrivateKey_file("${o.string('openssl-key') ?? o.string('openssl-certificate')}"): ${reason}`, 'ETLSCONTEXT');
    if (/dh/i.test(reason)) throw new TsocatError(`SSL_CTX_set_tmp_dh("${o.string('openssl-dhparam')}"): ${reason}`, 'ETLSCONTEXT');
    throw new TsocatError(`SSL_CTX_new(): ${reason}`, 'ETLSCONTEXT');
  }
}

/** The name a client checks the server certificate against and sends as SNI. */
export function clientNames(o: ResolvedOptions, host: string): { peerName: string; servername?: string } {
  const peerName = o.string('openssl-commonname') ?? host;
  const sni = o.string('openssl-snihost') ?? (peerName || host);
  // RFC 6066 has no IP addresses in SNI (Node warns about them): an address literal sends none, as socat does
  const servername = o.bool('openssl-no-sni') || isIP(sni) ? undefined : sni;
  return { peerName, servername };
}

/** OpenSSL's verify results by Node's codes, in OpenSSL's words. */
const VERIFY_MESSAGES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CERT_REVOKED: 'certificate revoked',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
};

/** socat's long names of certificate name fields, by the short names Node uses. */
const FIELD_NAMES: Record<string, string> = {
  CN: 'commonName',
  C: 'countryName',
  ST: 'stateOrProvinceName',
  L: 'localityName',
  O: 'organizationName',
  OU: 'organizationalUnitName',
  emailAddress: 'emailAddress',
  serialNumber: 'serialNumber',
  DC: 'domainComponent',
  street: 'streetAddress',
  title: 'title',
  GN: 'givenName',
  SN: 'surname',
};

type CertName = PeerCertificate['subject'];

const values = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** OpenSSL's one-line form of a name, as socat logs and exports it: "C = XY, O = Org, CN = name". */
export function oneLine(name: CertName | undefined): string {
  if (!name) return '';
  return Object.entries(name)
    .flatMap(([k, v]) => values(v as string | string[]).map((x) => `${k} = ${x}`))
    .join(', ');
}

/**
 * What socat exports about the peer certificate (without the SOCAT_ prefix):
 * OPENSSL_X509_SUBJECT, OPENSSL_X509_ISSUER and one variable per subject field,
 * repeated fields joined by " // ".
 */
export function certificateEnvironment(cert: PeerCertificate): Record<string, string> {
  const env: Record<string, string> = {
    OPENSSL_X509_SUBJECT: oneLine(cert.subject),
    OPENSSL_X509_ISSUER: oneLine(cert.issuer),
  };
  for (const [k, v] of Object.entries(cert.subject ?? {})) {
    env[`OPENSSL_X509_${(FIELD_NAMES[k] ?? k).toUpperCase()}`] = values(v as string | string[]).join(' // ');
  }
  return env;
}

/**
 * After the handshake: socat's checks and lines. With verify, the peer must
 * have sent a certificate that its CAs sign, and (for a client, or a server
 * given commonname) one that carries the expected name. Returns the
 * environment for programs started for this connection.
 */
export function checkPeer(
  socket: TLSSocket,
  opts: { verify: boolean; peerName?: string; fingerprint?: string; log: Logger; checkName: (name: string, cert: PeerCertificate) => Error | undefined },
): Record<string, string> {
  const { log } = opts;
  log.log('N', `SSL proto version used: ${socket.getProtocol()}`);
  log.log('N', `SSL connection using ${socket.getCipher()?.standardName ?? socket.getCipher()?.name}`);
  // no compression method exists in Node's OpenSSL, so neither direction is ever compressed
  log.log('N', 'SSL connection compression "none"');
  log.log('N', 'SSL connection expansion "none"');
  const cert = socket.getPeerCertificate();
  const env: Record<string, string> = { OPENSSL_PROTO_VERSION: socket.getProtocol() ?? '', OPENSSL_CIPHER: socket.getCipher()?.name ?? '' };
  if (!cert || Object.keys(cert).length === 0) {
    if (opts.verify) throw new TsocatError('no peer certificate', 'ETLSVERIFY');
    log.log('N', 'no peer certificate and no check');
    return env;
  }
  if (opts.fingerprint !== undefined) return pinnedPeer(cert, opts.fingerprint, env, log);
  const code = opts.verify ? verifyFailure(socket) : undefined;
  if (code !== undefined) {
    throw new TsocatError(VERIFY_MESSAGES[code] ?? `rejected peer certificate with error ${code}`, 'ETLSVERIFY');
  }
  Object.assign(env, certificateEnvironment(cert));
  log.log('N', `SSL peer cert subject: "${env.OPENSSL_X509_SUBJECT}"`);
  log.log('N', `SSL peer cert issuer: "${env.OPENSSL_X509_ISSUER}"`);
  if (env.OPENSSL_X509_COMMONNAME !== undefined) log.log('N', `SSL peer cert commonName: "${env.OPENSSL_X509_COMMONNAME}"`);
  if (!opts.verify) {
    log.log('N', 'option openssl-verify disabled, no check of certificate');
    return env;
  }
  log.log('I', 'peer certificate is trusted');
  if (opts.peerName === undefined || opts.peerName === '') {
    log.log('N', 'trusting certificate, no check of commonName');
    return env;
  }
  const mismatch = opts.checkName(opts.peerName, cert);
  if (mismatch) throw new TsocatError(`certificate is valid but its commonName does not match hostname "${opts.peerName}"`, 'ETLSVERIFY');
  log.log('N', 'trusting certificate, commonName matches');
  return env;
}

/** A SHA-256 fingerprint as OpenSSL prints it (`AB:CD:…`), from hex with or without colons. */
export function normalFingerprint(text: string): string {
  return (
    text
      .replace(/:/g, '')
      .toUpperCase()
      .match(/../g)
      ?.join(':') ?? ''
  );
}

/**
 * fingerprint=: the peer's certificate itself is what is trusted, instead of a CA
 * and a name. Anything else, however well signed, is refused.
 */
function pinnedPeer(cert: PeerCertificate, fingerprint: string, env: Record<string, string>, log: Logger): Record<string, string> {
  const wanted = normalFingerprint(fingerprint);
  if (cert.fingerprint256 !== wanted) {
    throw new TsocatError(`peer certificate's SHA-256 fingerprint ${cert.fingerprint256} is not the one pinned by option "fingerprint" (${wanted})`, 'ETLSVERIFY');
  }
  Object.assign(env, certificateEnvironment(cert));
  log.log('N', `SSL peer cert subject: "${env.OPENSSL_X509_SUBJECT}"`);
  log.log('N', 'peer certificate matches the pinned fingerprint, no CA or name check');
  return env;
}

/**
 * Why the peer certificate did not verify, as OpenSSL's code, or undefined when it did.
 * Node fills in authorized/authorizationError for clients and for its own tls.Server's
 * sockets only; a server TLSSocket made from an accepted socket asks OpenSSL's result directly.
 */
function verifyFailure(socket: TLSSocket): string | undefined {
  if (socket.authorized) return undefined;
  if (socket.authorizationError) return String(socket.authorizationError);
  const err = (socket as unknown as { ssl?: { verifyError(): (Error & { code?: string }) | null } }).ssl?.verifyError();
  return err ? (err.code ?? err.message) : undefined;
}

/** A handshake failure in socat's words: the call, then OpenSSL's reason. */
export function handshakeError(call: 'SSL_connect' | 'SSL_accept', err: Error & { code?: string; reason?: string }): TsocatError {
  if (err instanceof TsocatError) return err;
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || /socket disconnected|socket hang up/i.test(err.message)) {
    return new TsocatError(`${call}(): socket closed by peer`, 'ETLSHANDSHAKE');
  }
  return new TsocatError(`${call}(): ${err.reason ?? err.message}`, 'ETLSHANDSHAKE');
}
