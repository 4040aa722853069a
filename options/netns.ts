import { defineOptions } from './catalog.js';

/** Linux network namespaces (socat's netns, WITH_NAMESPACES). */
export default defineOptions([
  {
    name: 'netns',
    type: 'string',
    groups: ['TCP', 'UNIX', 'EXEC', 'INTERFACE'],
    phase: 'init',
    summary: 'make the socket (TCP, TCP-LISTEN and the clients over TCP, UNIX-* and ABSTRACT-*) create the TUN interface, or start the program (EXEC, SYSTEM, SHELL) in the network namespace /run/netns/<name> (as root)',
  },
]);
