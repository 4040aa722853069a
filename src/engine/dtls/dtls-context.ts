/**
 * The OPENSSL options of the DTLS addresses turned into an OpenSSL SSL_CTX
 * (made once per address, when it opens), and what a finished handshake
 * tells the peer checks the TLS addresses share (tls-setup.ts's checkPeer).
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { TsocatError } from '../../errors.js';
import {
  DTLS1_2_VERSION,
  DTLS1_VERSION,
  openssl,
  peerCertificateDer,
  SSL_VERIFY_NONE,
  SSL_VERIFY_PEER,
  setProtoVersion,
  takeError,
} from '../../sys/openssl.js';
import { AUTO_CERTIFICATE } from '../handshakes/self-signed.js';
import type { PeerView } from '../handshakes/tls-setup.js';
import { readPem } from '../handshakes/tls-setup.js';

const SSL_FILETYPE_PEM = 1;

/** socat's DTLS version names. */
const VERSIONS: Record<string, number> = {
  DTLS1: DTLS1_VERSION,
  'DTLS1.0': DTLS1_VERSION,
  DTLSV1: DTLS1_VERSION,
  'DTLSV1.0': DTLS1_VERSION,
  'DTLS1.2': DTLS1_2_VERSION,
  'DTLSV1.2': DTLS1_2_VERSION,
};

function dtlsVersion(text: string): number {
  const version = VERSIONS[text.toUpperCase()];
  if (version !== undefined) return version;
  if (/^(TLS|SSL)/i.test(text)) throw new TsocatError(`Wrong type of TLS/DTLS version "${text}"`, 'EOPTVALUE');
  throw new TsocatError(`Unknown SSL/TLS version "${text}" (use forms like "DTLS1.2")`, 'EOPTVALUE');
}

/** OPENSSL options a DTLS address cannot carry out, each with the reason. */
const NOT_FOR_DTLS: Record<string, string> = {
  'openssl-method': 'socat 1.7\'s method chooses a TLS version; use min-proto-version/max-proto-version with DTLS1 or DTLS1.2',
  'openssl-dhparam': 'DTLS addresses use OpenSSL\'s built-in key exchange groups',
};

/** verify is on unless turned off, as in socat. */
export const verifyingDtls = (o: ResolvedOptions): boolean => !o.has('openssl-verify') || o.bool('openssl-verify');

/** The SSL_CTX for a DTLS client or server: certificate, key, trusted CAs, verification, ciphers and versions. */
export function dtlsContext(o: ResolvedOptions, server: boolean, keyword: string): unknown {
  for (const [name, why] of Object.entries(NOT_FOR_DTLS)) if (o.has(name)) throw new TsocatError(`option "${name}" does not apply to ${keyword}: ${why}`, 'EOPTAPPLY');
  const cert = o.string('openssl-certificate');
  if (cert === AUTO_CERTIFICATE) throw new TsocatError(`option "cert=auto" does not apply to ${keyword}: the DTLS addresses read certificates from files only`, 'EOPTAPPLY');
  if (server && cert === undefined) throw new TsocatError('no certificate given; consider option "cert"', 'ENOCERT');
  if (server && o.has('openssl-fingerprint')) throw new TsocatError('option "fingerprint" applies to a TLS client (OPENSSL, WSS, OPENSSL-DTLS-CLIENT): it pins the server\'s certificate', 'EOPTAPPLY');
  const key = o.string('openssl-key');
  if (key !== undefined && cert === undefined) throw new TsocatError('option "key" needs option "cert" (the certificate the key belongs to)', 'EOPTVALUE');
  const min = o.string('openssl-min-proto-version');
  const max = o.string('openssl-max-proto-version');
  const versions = { min: min === undefined ? undefined : dtlsVersion(min), max: max === undefined ? undefined : dtlsVersion(max) };
  // files are read first, so a missing one is reported in the words of the TLS addresses
  if (cert !== undefined) readPem(cert, 'SSL_CTX_use_certificate_file');
  if (key !== undefined) readPem(key, 'SSL_CTX_use_PrivateKey_file');
  const cafile = o.string('openssl-cafile');
  if (cafile !== undefined) readPem(cafile, 'SSL_CTX_load_verify_locations');
  const capath = o.string('openssl-capath');

  const ssl = openssl();
  ssl.ERR_clear_error();
  const ctx = ssl.SSL_CTX_new(server ? ssl.DTLS_server_method() : ssl.DTLS_client_method());
  if (!ctx) throw new TsocatError(`SSL_CTX_new(): ${takeError() ?? 'failed'}`, 'ETLSCONTEXT');
  const fail = (call: string): never => {
    const text = takeError() ?? 'failed';
    ssl.SSL_CTX_free(ctx);
    throw new TsocatError(`${call}: ${text}`, 'ETLSCONTEXT');
  };
  if (cert !== undefined) {
    if (ssl.SSL_CTX_use_certificate_chain_file(ctx, cert) !== 1) fail(`SSL_CTX_use_certificate_file("${cert}")`);
    const keyFile = key ?? cert;
    if (ssl.SSL_CTX_use_PrivateKey_file(ctx, keyFile, SSL_FILETYPE_PEM) !== 1) fail(`SSL_CTX_use_PrivateKey_file("${keyFile}")`);
    if (ssl.SSL_CTX_check_private_key(ctx) !== 1) fail(`SSL_CTX_use_PrivateKey_file("${keyFile}")`);
  }
  if (cafile !== undefined || capath !== undefined) {
    if (ssl.SSL_CTX_load_verify_locations(ctx, cafile ?? null, capath ?? null) !== 1) fail(`SSL_CTX_load_verify_locations("${cafile ?? ''}", "${capath ?? ''}")`);
  } else if (ssl.SSL_CTX_set_default_verify_paths(ctx) !== 1) {
    fail('SSL_CTX_set_default_verify_paths()');
  }
  // a pinned fingerprint replaces the CA check, so the handshake must not fail on it
  const verify = verifyingDtls(o) && !o.has('openssl-fingerprint');
  ssl.SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, null);
  const ciphers = o.string('openssl-cipherlist');
  if (ciphers !== undefined && ssl.SSL_CTX_set_cipher_list(ctx, ciphers) !== 1) fail(`SSL_CTX_set_cipher_list(, "${ciphers}")`);
  if (versions.min !== undefined && !setProtoVersion(ctx, 'min', versions.min)) fail(`SSL_CTX_set_min_proto_version("${min}")`);
  if (versions.max !== undefined && !setProtoVersion(ctx, 'max', versions.max)) fail(`SSL_CTX_set_max_proto_version("${max}")`);
  return ctx;
}

/** "C=XY\nO=Org\nCN=name" (node:crypto's form) as Node's certificate objects hold a name. */
function nameFields(text: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at < 1) continue;
    const [k, v] = [line.slice(0, at), line.slice(at + 1)];
    const had = fields[k];
    fields[k] = had === undefined ? v : [had, v].flat();
  }
  return fields;
}

/** The handshake's results, as checkPeer asks a TLS socket for them. */
export function peerView(ssl: unknown): PeerView {
  const o = openssl();
  const der = peerCertificateDer(ssl);
  const x509 = der?.length ? new X509Certificate(der) : undefined;
  const cipher = o.SSL_get_current_cipher(ssl);
  const certificate = x509
    ? ({
        subject: nameFields(x509.subject),
        issuer: nameFields(x509.issuer),
        subjectaltname: x509.subjectAltName,
        fingerprint256: x509.fingerprint256,
        valid_from: x509.validFrom,
        valid_to: x509.validTo,
      } as unknown as PeerCertificate)
    : ({} as PeerCertificate);
  return {
    getProtocol: () => o.SSL_get_version(ssl),
    getCipher: () => (cipher ? { name: o.SSL_CIPHER_get_name(cipher), standardName: o.SSL_CIPHER_standard_name(cipher), version: o.SSL_get_version(ssl) } : undefined) as never,
    getPeerCertificate: () => certificate,
    verifyMessage: () => {
      const result = o.SSL_get_verify_result(ssl);
      return result === 0 ? undefined : o.X509_verify_cert_error_string(result);
    },
  } as unknown as PeerView;
}
