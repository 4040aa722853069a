import { defineOptions } from './catalog.js';

/** Options for UNIX domain sockets (UNIX-* and ABSTRACT-* addresses), socat's GROUP_SOCK_UNIX. */
export default defineOptions([
  {
    name: 'unix-tightsocklen',
    aliases: ['tightsocklen'],
    type: 'bool',
    groups: ['UNIX'],
    phase: 'bind',
    summary: 'pass only the used part of the socket address as its length (1, the default); 0 passes the whole struct sockaddr_un, which makes an abstract name a different, NUL-padded one',
  },
  {
    name: 'unix-bind-tempname',
    aliases: ['bind-tempname'],
    type: 'string',
    groups: ['UNIX'],
    phase: 'bind',
    emptyValue: '',
    summary: 'bind a client to a random name made from the pattern (its XXXXXX replaced; default /tmp/socat-bind.XXXXXX), e.g. so datagram replies can come back to each forked client',
  },
]);
