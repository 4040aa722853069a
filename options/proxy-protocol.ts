import { TsocatError } from '../src/errors.js';
import { defineOptions } from './catalog.js';

function checkVersion(value: string, optionText: string): void {
  if (value !== 'v1' && value !== 'v2') throw new TsocatError(`option "${optionText}": the PROXY protocol version is v1 (text) or v2 (binary)`, 'EOPTVALUE');
}

/** HAProxy's PROXY protocol: who the client really was, across a relay or load balancer. */
export default defineOptions([
  {
    name: 'proxy-protocol-send',
    type: 'string',
    groups: ['PROXYPROTO'],
    phase: 'connect',
    check: checkVersion,
    summary: "v1 or v2: first thing on the connection, a PROXY protocol header naming address 1's client and the address it reached (UNKNOWN / LOCAL when address 1 has none)",
  },
  {
    name: 'proxy-protocol',
    type: 'bool',
    groups: ['PROXYPROTO-L'],
    phase: 'accept',
    summary: 'each peer must start with a PROXY protocol header (v1 or v2); the client it names is the peer for range, log lines and SOCAT_PEERADDR; a peer without one is refused',
  },
]);
