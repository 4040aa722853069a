import { defineOptions } from './catalog.js';

/** TCP-level options. */
export default defineOptions([
  { name: 'tcp-nodelay', aliases: ['nodelay'], type: 'bool', groups: ['TCP'], phase: 'connect', summary: 'send small segments at once (disable Nagle)' },
  { name: 'keepidle', aliases: ['tcp-keepidle'], type: 'int', groups: ['TCP'], phase: 'socket', summary: 'idle seconds before the first keepalive probe' },
  { name: 'tcp-keepintvl', aliases: ['keepintvl'], type: 'int', groups: ['TCP'], phase: 'socket', summary: 'seconds between keepalive probes (TCP_KEEPINTVL)' },
  { name: 'tcp-keepcnt', aliases: ['keepcnt'], type: 'int', groups: ['TCP'], phase: 'socket', summary: 'unanswered keepalive probes before the connection is dropped (TCP_KEEPCNT)' },
  { name: 'tcp-maxseg', aliases: ['mss', 'maxseg'], type: 'int', groups: ['TCP'], phase: 'socket', summary: 'maximum segment size, set before connect or listen so the SYN announces it (TCP_MAXSEG)' },
  { name: 'tcp-maxseg-late', aliases: ['mss-late', 'maxseg-late'], type: 'int', groups: ['TCP'], phase: 'connect', summary: 'maximum segment size, set once connected (TCP_MAXSEG)' },
  { name: 'tcp-cork', aliases: ['cork'], type: 'int', groups: ['TCP'], phase: 'socket', summary: 'hold back partial segments until full or uncorked (TCP_CORK)' },
  { name: 'tcp-syncnt', aliases: ['syncnt'], type: 'int', groups: ['TCP'], phase: 'socket', summary: 'SYN retransmissions before connect() gives up (TCP_SYNCNT, 1..127)' },
  { name: 'tcp-linger2', aliases: ['linger2'], type: 'int', groups: ['TCP'], phase: 'socket', summary: 'seconds an orphaned connection stays in FIN_WAIT2 (TCP_LINGER2)' },
  { name: 'tcp-defer-accept', aliases: ['defer-accept'], type: 'int', groups: ['TCP'], phase: 'socket', summary: 'a listener wakes up for a peer only once it has sent data, waiting up to this many seconds (TCP_DEFER_ACCEPT)' },
  { name: 'tcp-window-clamp', aliases: ['window-clamp'], type: 'int', groups: ['TCP'], phase: 'socket', summary: 'largest receive window to announce (TCP_WINDOW_CLAMP)' },
  { name: 'tcp-quickack', aliases: ['quickack'], type: 'int', groups: ['TCP'], phase: 'socket', summary: 'acknowledge at once instead of delaying ACKs (TCP_QUICKACK)' },
  { name: 'tcp-user-timeout', aliases: ['user-timeout'], type: 'int', groups: ['TCP'], phase: 'socket', summary: 'milliseconds sent data may stay unacknowledged before the connection is dropped (TCP_USER_TIMEOUT); not in socat' },
  { name: 'ai-addrconfig', aliases: ['addrconfig'], type: 'bool', groups: ['IP4', 'IP6'], phase: 'connect', summary: 'resolve names only to IP versions this host has addresses for (getaddrinfo AI_ADDRCONFIG)' },
  { name: 'lowport', type: 'bool', groups: ['IP4', 'IP6'], phase: 'bind', summary: 'connect from a free port below 1024 (640-1023); on a listener, accept only clients from such ports' },
  { name: 'sourceport', aliases: ['sp'], type: 'uint', ctype: 'ushort', groups: ['IP4', 'IP6'], phase: 'bind', summary: 'connect from this local port' },
]);
