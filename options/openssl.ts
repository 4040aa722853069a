import { TsocatError } from '../src/errors.js';
import { defineOptions } from './catalog.js';

function checkFingerprint(value: string, optionText: string): void {
  if (!/^(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){31})$/.test(value)) {
    throw new TsocatError(`option "${optionText}": expected a SHA-256 fingerprint, 64 hex digits (colons between pairs allowed)`, 'EOPTVALUE');
  }
}

/** socat compares the method without case and knows only these two. */
function checkCompression(value: string): void {
  if (!/^(auto|none)$/i.test(value)) throw new TsocatError(`openssl-compress="${value}": unknown compression method`, 'EOPTVALUE');
}

/** TLS settings of OPENSSL and OPENSSL-LISTEN (socat's OPENSSL group), carried out by Node's tls module. */
export default defineOptions([
  { name: 'openssl-certificate', aliases: ['cert', 'certificate'], type: 'filename', groups: ['OPENSSL'], phase: 'connect', summary: 'PEM file with our certificate (and its key, unless key= is given); required on a listener. cert=auto makes a self-signed one in memory at start-up and logs its SHA-256 fingerprint (N); ./auto names a file' },
  { name: 'openssl-key', aliases: ['key'], type: 'filename', groups: ['OPENSSL'], phase: 'connect', summary: "PEM file with the private key of the certificate" },
  { name: 'openssl-cafile', aliases: ['cafile'], type: 'filename', groups: ['OPENSSL'], phase: 'connect', summary: 'PEM file of the certificates trusted to sign the peer certificate (instead of the system store)' },
  { name: 'openssl-capath', aliases: ['capath'], type: 'filename', groups: ['OPENSSL'], phase: 'connect', summary: 'directory whose PEM files are the certificates trusted to sign the peer certificate' },
  { name: 'openssl-verify', aliases: ['verify'], type: 'bool', groups: ['OPENSSL'], phase: 'connect', summary: 'check the peer certificate (on by default); a listener with verify requires a client certificate' },
  { name: 'openssl-commonname', aliases: ['cn', 'commonname'], type: 'string', groups: ['OPENSSL'], phase: 'connect', summary: "the name the server certificate must carry, instead of <host> (an empty value skips the name check)" },
  { name: 'openssl-snihost', aliases: ['snihost'], type: 'string', groups: ['OPENSSL'], phase: 'connect', summary: 'server name sent in the SNI extension, instead of commonname or <host>' },
  { name: 'openssl-no-sni', aliases: ['no-sni', 'nosni'], type: 'bool', groups: ['OPENSSL'], phase: 'connect', summary: 'send no SNI extension' },
  { name: 'openssl-min-proto-version', aliases: ['min-proto-version', 'min-version'], type: 'string', groups: ['OPENSSL'], phase: 'connect', values: ['TLS1', 'TLS1.1', 'TLS1.2', 'TLS1.3'], summary: 'lowest TLS version to use: TLS1, TLS1.1, TLS1.2 or TLS1.3' },
  { name: 'openssl-max-proto-version', aliases: ['max-proto-version', 'max-version'], type: 'string', groups: ['OPENSSL'], phase: 'connect', values: ['TLS1', 'TLS1.1', 'TLS1.2', 'TLS1.3'], summary: 'highest TLS version to use: TLS1, TLS1.1, TLS1.2 or TLS1.3' },
  { name: 'openssl-method', aliases: ['method'], type: 'string', groups: ['OPENSSL'], phase: 'connect', values: ['TLS1', 'TLS1.1', 'TLS1.2', 'TLS1.3', 'SSL23', 'TLS'], summary: "one TLS version only (socat 1.7's method): TLS1, TLS1.1, TLS1.2, TLS1.3, or SSL23/TLS for any" },
  { name: 'openssl-cipherlist', aliases: ['cipher', 'ciphers', 'cipherlist'], type: 'string', groups: ['OPENSSL'], phase: 'connect', summary: "OpenSSL cipher list (up to TLS 1.2), e.g. HIGH:!aNULL" },
  { name: 'openssl-dhparam', aliases: ['dh', 'dhparam', 'dhparams', 'openssl-dhparams'], type: 'filename', groups: ['OPENSSL'], phase: 'connect', summary: 'PEM file with Diffie-Hellman parameters for DHE ciphers (server)' },
  { name: 'openssl-compress', aliases: ['compress'], type: 'string', groups: ['OPENSSL'], phase: 'connect', check: checkCompression, summary: "TLS compression: none turns it off, auto leaves it to OpenSSL; Node removes OpenSSL's compression methods at start-up (against CRIME), so both negotiate none, as socat does with Debian's OpenSSL (built without zlib)" },
  { name: 'openssl-fingerprint', aliases: ['fingerprint'], type: 'string', groups: ['OPENSSL'], phase: 'connect', check: checkFingerprint, summary: "a client trusts exactly the server certificate with this SHA-256 fingerprint (64 hex digits, colons optional, as openssl x509 -fingerprint -sha256 prints it) instead of a CA and a name" },
]);
