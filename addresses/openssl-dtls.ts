/**
 * OPENSSL-DTLS-CLIENT (DTLS) and OPENSSL-DTLS-SERVER (DTLS-L): DTLS over UDP,
 * through the OpenSSL that Node carries (src/sys/openssl.ts), since Node's tls
 * module has no DTLS. The engine's part is src/engine/dtls/, loaded only when
 * one of these opens.
 */
import { defineAddress } from '../src/define.js';

const CLIENT_GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'OPENSSL', 'CHILD', 'RETRY'] as const;
const SERVER_GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'LISTEN', 'OPENSSL', 'CHILD', 'RANGE', 'RETRY'] as const;

const client = defineAddress({
  listed: ['OPENSSL-DTLS-CLIENT', 'DTLS'],
  names: ['OPENSSL-DTLS-CLIENT', 'OPENSSL-DTLS-CONNECT', 'DTLS', 'DTLS-C', 'DTLS-CLIENT', 'DTLS-CONNECT'],
  params: ['host', 'port'],
  groups: CLIENT_GROUPS,
  features: ['OPENSSL', 'UDP'],
  summary: 'DTLS client over UDP to <host>:<port>, its certificate checked as OPENSSL checks it; one record per packet',
  async open(req, ctx) {
    const { openDtlsClient } = await import('../src/engine/dtls/dtls-open.js');
    return openDtlsClient(req, ctx);
  },
});

const server = defineAddress({
  listed: ['OPENSSL-DTLS-SERVER', 'DTLS-L'],
  names: ['OPENSSL-DTLS-SERVER', 'OPENSSL-DTLS-LISTEN', 'DTLS-L', 'DTLS-LISTEN', 'DTLS-SERVER'],
  params: ['port'],
  groups: SERVER_GROUPS,
  features: ['OPENSSL', 'UDP', 'LISTEN'],
  summary: 'DTLS server on UDP <port>: the first client to send becomes the peer (cert= required; fork: one session per client)',
  async open(req, ctx) {
    const { openDtlsServer } = await import('../src/engine/dtls/dtls-open.js');
    return openDtlsServer(req, ctx);
  },
});

export default [client, server];
