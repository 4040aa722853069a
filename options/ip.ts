import { checkIpOptionValue } from '../src/engine/sockets/ip-sockopts.js';
import { defineOptions } from './catalog.js';

/** IP-level options (socat's IP4/IP6 groups), each one setsockopt() on the socket (src/engine/sockets/ip-sockopts.ts). */
export default defineOptions([
  { name: 'ip-ttl', aliases: ['ttl', 'ipttl'], type: 'int', groups: ['IP4', 'IP6'], phase: 'socket', summary: 'time to live of outgoing packets (IP_TTL)' },
  { name: 'ip-tos', aliases: ['tos', 'iptos'], type: 'int', groups: ['IP4', 'IP6'], phase: 'socket', summary: 'type of service byte of outgoing packets (IP_TOS)' },
  { name: 'ip-multicast-ttl', aliases: ['multicast-ttl', 'ipmulticastttl', 'multicastttl'], type: 'int', ctype: 'byte', groups: ['IP4', 'IP6'], phase: 'socket', summary: 'time to live of outgoing multicast packets (IP_MULTICAST_TTL)' },
  { name: 'ip-multicast-loop', aliases: ['multicast-loop', 'mcloop', 'ipmulticastloop', 'multicastloop'], type: 'bool', groups: ['IP4', 'IP6'], phase: 'socket', summary: 'deliver multicast packets sent to this host\'s own members too (IP_MULTICAST_LOOP)' },
  {
    name: 'ip-multicast-if',
    aliases: ['multicast-if'],
    type: 'string',
    groups: ['IP4', 'IP6'],
    phase: 'socket',
    summary: 'send multicast packets through the interface with this IPv4 address (IP_MULTICAST_IF)',
    check: checkIpOptionValue('ip-multicast-if'),
  },
  {
    name: 'ip-add-membership',
    aliases: ['add-membership', 'ip-membership', 'membership'],
    type: 'string',
    groups: ['IP4', 'IP6'],
    phase: 'socket',
    summary: 'join an IPv4 multicast group: <group>:<interface address>, <group>:<interface name or index>, or <group>:<address>:<name or index>',
    check: checkIpOptionValue('ip-add-membership'),
  },
  {
    name: 'ip-add-source-membership',
    aliases: ['add-source-membership', 'source-membership'],
    type: 'string',
    groups: ['IP4', 'IP6'],
    phase: 'socket',
    summary: 'join an IPv4 multicast group for one source only: <group>:<interface address>:<source address>',
    check: checkIpOptionValue('ip-add-source-membership'),
  },
  {
    name: 'ip-pktinfo',
    aliases: ['pktinfo', 'ippktinfo'],
    type: 'bool',
    groups: ['IP4', 'IP6'],
    phase: 'socket',
    summary: 'UDP-RECVFROM: receive each packet\'s destination address and interface (IP_PKTINFO) as SOCAT_IP_DSTADDR, SOCAT_IP_LOCADDR, SOCAT_IP_IF for the program',
  },
  { name: 'ip-recvttl', aliases: ['recvttl', 'iprecvttl'], type: 'bool', groups: ['IP4', 'IP6'], phase: 'socket', summary: 'UDP-RECVFROM: receive each packet\'s TTL (IP_RECVTTL) as SOCAT_IP_TTL for the program' },
  { name: 'ip-recvtos', aliases: ['recvtos', 'iprecvtos'], type: 'bool', groups: ['IP4', 'IP6'], phase: 'socket', summary: 'UDP-RECVFROM: receive each packet\'s TOS byte (IP_RECVTOS) as SOCAT_IP_TOS for the program' },
  { name: 'ipv6-unicast-hops', aliases: ['unicast-hops'], type: 'int', groups: ['IP6'], phase: 'socket', summary: 'hop limit of outgoing IPv6 unicast packets (IPV6_UNICAST_HOPS)' },
  { name: 'ipv6-tclass', type: 'int', groups: ['IP6'], phase: 'socket', summary: 'traffic class of outgoing IPv6 packets (IPV6_TCLASS)' },
]);
