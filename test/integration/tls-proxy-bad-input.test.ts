/**
 * OPENSSL, PROXY and SOCKS command lines a user can get wrong: each ends with
 * exactly one socat-style log line naming the problem, exit status 1, nothing
 * on stdout.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, tempDir, tsocat } from '../helpers.js';
import { makeCerts } from '../tls-peers.js';

const ONE_LOG_LINE = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d tsocat\[\d+\] E (.*)\n$/;
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
  // server.pem, server.key, client.key for the certificate cases
  makeCerts(tmp.dir);
  writeFileSync(join(tmp.dir, 'not-dh.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
});
afterAll(() => tmp.cleanup());

/** Each case: the address (C = a closed port on loopback, D = the temp dir) and the message after `E `. */
const CASES: Array<[string, string, string | RegExp]> = [
  ['missing certificate file', 'OPENSSL:127.0.0.1:C,cert=D/missing.pem', 'SSL_CTX_use_certificate_file("D/missing.pem"): No such file or directory'],
  ['key that does not match the certificate', 'OPENSSL:127.0.0.1:C,cert=D/server.pem,key=D/client.key', 'SSL_CTX_use_PrivateKey_file("D/client.key"): key values mismatch'],
  ['key without certificate', 'OPENSSL:127.0.0.1:C,key=D/server.key', 'option "key" needs option "cert" (the certificate the key belongs to)'],
  ['missing cafile', 'OPENSSL:127.0.0.1:C,cafile=D/missing-ca.pem', 'SSL_CTX_load_verify_locations("D/missing-ca.pem"): No such file or directory'],
  ['missing capath', 'OPENSSL:127.0.0.1:C,capath=D/no-such-dir', 'SSL_CTX_load_verify_locations(NULL, "D/no-such-dir"): No such file or directory'],
  ['bad openssl-min-proto-version', 'OPENSSL:127.0.0.1:C,openssl-min-proto-version=TLS9', 'Unknown SSL/TLS version "TLS9" (use forms like "TLS1.2")'],
  ['SSL3 as max-proto-version', 'OPENSSL:127.0.0.1:C,max-proto-version=SSL3', 'openssl-max-proto-version="SSL3": Node\'s TLS offers TLS1 to TLS1.3 only'],
  ['unknown method', 'OPENSSL:127.0.0.1:C,method=SSL2', 'openssl-method="SSL2": method unknown or not provided by library'],
  ['cipher list that matches nothing', 'OPENSSL:127.0.0.1:C,cipher=NOSUCHCIPHER', 'SSL_CTX_set_cipher_list(, "NOSUCHCIPHER"): no cipher match'],
  ['dhparam on a client', 'OPENSSL:127.0.0.1:C,dhparam=D/not-dh.pem', 'option "dhparam" applies to a TLS server (OPENSSL-LISTEN)'],
  ['dhparam file without parameters', 'OPENSSL-LISTEN:C,cert=D/server.pem,key=D/server.key,dhparam=D/not-dh.pem', 'PEM_read_bio_DHparams("D/not-dh.pem"): no DH parameters in the file'],
  ['a TLS version on DTLS', 'OPENSSL-DTLS-CLIENT:127.0.0.1:C,min-proto-version=TLS1.2', 'Wrong type of TLS/DTLS version "TLS1.2"'],
  ['unreachable proxy', 'PROXY:127.0.0.1:example.org:80,proxyport=C', 'connect(AF=2 127.0.0.1:C): Connection refused'],
  ['unknown http-version', 'PROXY:127.0.0.1:example.org:80,proxyport=C,http-version=2', 'http-version="2": only 1.0 and 1.1 are known'],
  ['both proxy-authorization options', 'PROXY:127.0.0.1:example.org:80,proxyport=C,proxyauth=a:b,proxyauthfile=D/auth', 'Only one of options proxy-authorization and proxy-authorization-file allowed'],
  ['missing proxy-authorization-file', 'PROXY:127.0.0.1:example.org:80,proxyport=C,proxyauthfile=D/auth', 'open("D/auth", O_RDONLY): No such file or directory'],
  ['unreachable SOCKS server', 'SOCKS5:127.0.0.1:C:example.org:80', 'connect(AF=2 127.0.0.1:C): Connection refused'],
  ['SOCKS5 with too few parameters', 'SOCKS5:127.0.0.1:example.org', 'SOCKS5: wrong number of parameters (2 instead of 3): usage: SOCKS5:<socks-server>[:<socks-port>]:<target-host>:<target-port>'],
  ['sockspass on SOCKS4', 'SOCKS4:127.0.0.1:example.org:80,sockspass=x', 'parseopts_table(): option "sockspass" not supported with this address type'],
];

describe('bad OPENSSL, PROXY and SOCKS input', () => {
  it.each(CASES)('%s', async (_name, address, message) => {
    const closed = String(await freePort());
    const fill = (s: string) => s.replaceAll('D/', `${tmp.dir}/`).replace(/(?<=[:=])C\b/g, closed);
    const r = await tsocat(['-', fill(address)]);
    expect(r.stdout.toString()).toBe('');
    expect(r.stderr).toMatch(ONE_LOG_LINE);
    expect(r.stderr.match(ONE_LOG_LINE)?.[1]).toBe(fill(message as string));
    expect(r.status).toBe(1);
  });
});
