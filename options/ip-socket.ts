import { defineOptions } from './catalog.js';

/** IP-level options of stream sockets, set between socket() and bind() as socat sets them (src/engine/sockets/socket-phases.ts). */
export default defineOptions([
  { name: 'ip-freebind', aliases: ['freebind', 'ipfreebind'], type: 'int', groups: ['IP4', 'IP6'], phase: 'socket', summary: 'bind to an address this host does not (yet) have (IP_FREEBIND)' },
  {
    name: 'ip-hdrincl',
    aliases: ['hdrincl', 'iphdrincl'],
    type: 'int',
    groups: ['IP4', 'IP6'],
    phase: 'socket',
    summary: 'raw IPv4 sockets (IP4-SENDTO, IP4-DATAGRAM…): the data written holds the IPv4 header itself (IP_HDRINCL; the kernel still fills in the checksum and total length); other sockets refuse it',
  },
  { name: 'ip-transparent', aliases: ['transparent'], type: 'bool', groups: ['IP4', 'IP6'], phase: 'bind', summary: 'bind to and accept for foreign addresses, for transparent proxying (IP_TRANSPARENT; needs CAP_NET_ADMIN)' },
  { name: 'ip-options', aliases: ['ipoptions'], type: 'string', groups: ['IP4'], phase: 'socket', summary: 'IPv4 header options for the socket\'s packets, as a dalan value (IP_OPTIONS), e.g. x01010101 for NOPs' },
]);
