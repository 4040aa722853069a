/**
 * cert=auto: a self-signed certificate made in memory when the address opens,
 * with the selfsigned package (Node's crypto makes keys but no certificates).
 * An EC P-256 key is made in milliseconds where RSA would take a second; the
 * names cover this host's loopback names and its hostname, so a client that
 * pins the certificate (fingerprint=) or trusts it can also check the name.
 */
import { hostname } from 'node:os';
import { TsocatError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { crypto, selfsigned } from '../../sys/builtins.js';

/** The value of cert= that asks for a certificate made at start-up. */
export const AUTO_CERTIFICATE = 'auto';

const VALID_DAYS = 30;

export interface MadeCertificate {
  cert: string;
  key: string;
  /** SHA-256 of the certificate's DER, as OpenSSL prints it: upper-case hex pairs joined by colons. */
  fingerprint: string;
}

export async function selfSignedCertificate(log: Logger): Promise<MadeCertificate> {
  const host = hostname();
  const notBeforeDate = new Date(Date.now() - 60_000);
  let made: Awaited<ReturnType<ReturnType<typeof selfsigned>['generate']>>;
  try {
    made = await selfsigned().generate([{ name: 'commonName', value: host }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate: new Date(notBeforeDate.getTime() + VALID_DAYS * 86_400_000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: host }, { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
      ],
    });
  } catch (err) {
    throw new TsocatError(`cert=auto: making a self-signed certificate failed: ${(err as Error).message}`, 'ETLSCONTEXT');
  }
  const fingerprint = new (crypto().X509Certificate)(made.cert).fingerprint256;
  log.log('N', `cert=auto: self-signed certificate for "${host}", localhost, 127.0.0.1, ::1, valid ${VALID_DAYS} days; SHA-256 fingerprint ${fingerprint}`);
  return { cert: made.cert, key: made.private, fingerprint };
}
