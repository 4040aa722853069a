import { defineOptions } from './catalog.js';

/** Options for sockets of any family. */
export default defineOptions([
  { name: 'bind', type: 'string', groups: ['SOCKET'], phase: 'bind', summary: 'bind the socket to this local address ([host][:port])' },
  {
    name: 'so-reuseaddr',
    aliases: ['reuseaddr'],
    type: 'bool',
    groups: ['SOCKET'],
    phase: 'socket',
    emptyValue: false,
    summary: 'allow binding a port that is in TIME_WAIT; on by default for TCP listeners (socat 1.8), reuseaddr=0 or reuseaddr= turns it off',
  },
  { name: 'so-reuseport', aliases: ['reuseport'], type: 'bool', groups: ['LISTEN'], phase: 'bind', summary: 'let several listeners bind the same address and port; the kernel shares the connections among them' },
  { name: 'so-keepalive', aliases: ['keepalive'], type: 'bool', groups: ['SOCKET'], phase: 'connect', summary: 'send TCP keepalive probes' },
  { name: 'so-rcvbuf', aliases: ['rcvbuf'], type: 'size', groups: ['SOCKET'], phase: 'socket', summary: 'size of the receive buffer' },
  { name: 'so-sndbuf', aliases: ['sndbuf'], type: 'size', groups: ['SOCKET'], phase: 'socket', summary: 'size of the send buffer' },
  { name: 'so-linger', aliases: ['linger'], type: 'int', groups: ['SOCKET'], phase: 'connect', summary: 'on close, wait this many seconds for unsent data (0: reset)' },
  { name: 'connect-timeout', type: 'timeval', groups: ['SOCKET'], phase: 'connect', summary: 'give up connecting after this many seconds' },
  { name: 'setsockopt', aliases: ['sockopt'], type: 'string', groups: ['SOCKET'], phase: 'connect', summary: 'setsockopt(level, optname, value) on the connected socket: <level>:<optname>:<dalan value, e.g. i512 or x0a0b>' },
  { name: 'setsockopt-int', aliases: ['sockopt-int'], type: 'string', groups: ['SOCKET'], phase: 'connect', summary: 'like setsockopt, the value an int: <level>:<optname>:<int>' },
  { name: 'setsockopt-bin', aliases: ['sockopt-bin'], type: 'string', groups: ['SOCKET'], phase: 'connect', summary: 'like setsockopt: <level>:<optname>:<dalan value>' },
  { name: 'setsockopt-string', aliases: ['sockopt-string'], type: 'string', groups: ['SOCKET'], phase: 'connect', summary: 'like setsockopt, the value a string passed with its trailing NUL' },
  { name: 'pf', aliases: ['protocol-family'], type: 'string', groups: ['SOCKET'], phase: 'init', summary: 'use this protocol family: ip4 or ip6' },
  { name: 'so-type', aliases: ['type', 'socktype'], type: 'int', groups: ['SOCKET'], phase: 'socket', summary: "the socket type given to socket(), as a number: 1 stream, 2 dgram, 3 raw, 5 seqpacket" },
  { name: 'so-protocol', aliases: ['protocol', 'prototype', 'so-prototype'], type: 'int', groups: ['SOCKET'], phase: 'socket', summary: 'the protocol number given to socket() (e.g. 6 TCP, 17 UDP, 132 SCTP)' },
]);
