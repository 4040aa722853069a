import { checkIpOptionValue } from '../src/engine/ip-sockopts.js';
import { defineOptions } from './catalog.js';

/** IP-level options (socat's IP4/IP6 groups), each one setsockopt() on the socket (src/engine/ip-sockopts.ts). */
export default defineOptions([
  { name: 'ip-ttl', aliases: ['ttl', 'ipttl'], type: 'int', groups: ['IP4', 'IP6'], phase: 'socket', summary: 'time to live of outgoing packets (IP_TTL)' },
  { name: 'ip-tos', aliases: ['tos', 'iptos'], type: 'int', groups: ['IP4', 'IP6'], phase: 'socket', summary: 'type of service byte of outgoing packets (IP_TOS)' },
  { name: 'ip-multicast-ttl', aliases: ['multicast-ttl', 'ipmulticastttl', 'multicastttl'], type: 'int', groups: ['IP4', 'IP6'], phase: 'socket', summary: 'time to live of outgoing multicast packets (IP_MULTICAST_TTL)' },
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
  { name: 'ipv6-unicast-hops', aliases: ['unicast-hops'], type: 'int', groups: ['IP6'], phase: 'socket', summary: 'hop limit of outgoing IPv6 unicast packets (IPV6_UNICAST_HOPS)' },
  { name: 'ipv6-tclass', type: 'int', groups: ['IP6'], phase: 'socket', summary: 'traffic class of outgoing IPv6 packets (IPV6_TCLASS)' },
]);
