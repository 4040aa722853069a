import { defineOptions } from './catalog.js';

/** Socket options that matter for datagram sockets (UDP, UDP-Lite). */
export default defineOptions([
  { name: 'so-broadcast', aliases: ['broadcast'], type: 'bool', groups: ['SOCKET'], phase: 'socket', summary: 'allow sending to a broadcast address (SO_BROADCAST)' },
  { name: 'so-timestamp', aliases: ['timestamp'], type: 'bool', groups: ['SOCKET'], phase: 'socket', summary: 'UDP/IP-RECV and -RECVFROM: log each packet\'s arrival time (SO_TIMESTAMP); RECVFROM gives it to the program as SOCAT_TIMESTAMP' },
  {
    name: 'null-eof',
    type: 'bool',
    groups: ['SOCKET'],
    phase: 'late',
    summary: 'an empty datagram means end of file (by default one is ignored on unconnected datagram sockets, so port scans do no harm)',
  },
  { name: 'udplite-send-cscov', type: 'int', groups: ['UDPLITE'], phase: 'fd', summary: 'UDP-Lite: bytes of each sent packet the checksum covers (0: all; UDPLITE_SEND_CSCOV)' },
  { name: 'udplite-recv-cscov', type: 'int', groups: ['UDPLITE'], phase: 'fd', summary: 'UDP-Lite: the least checksum coverage a received packet must have (UDPLITE_RECV_CSCOV)' },
]);
