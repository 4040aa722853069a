import { defineOptions } from './catalog.js';

/** TCP-level options. */
export default defineOptions([
  { name: 'tcp-nodelay', aliases: ['nodelay'], type: 'bool', groups: ['TCP'], phase: 'connect', summary: 'send small segments at once (disable Nagle)' },
  { name: 'keepidle', aliases: ['tcp-keepidle'], type: 'int', groups: ['TCP'], phase: 'connect', summary: 'idle seconds before the first keepalive probe' },
  { name: 'ai-addrconfig', aliases: ['addrconfig'], type: 'bool', groups: ['IP4', 'IP6'], phase: 'connect', summary: 'resolve names only to IP versions this host has addresses for (getaddrinfo AI_ADDRCONFIG)' },
  { name: 'lowport', type: 'bool', groups: ['IP4', 'IP6'], phase: 'bind', summary: 'connect from a free port below 1024 (640-1023); on a listener, accept only clients from such ports' },
  { name: 'sourceport', aliases: ['sp'], type: 'uint', groups: ['IP4', 'IP6'], phase: 'bind', summary: 'connect from this local port' },
]);
