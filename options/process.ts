import { defineOptions } from './catalog.js';

/** Options for addresses that start a program (EXEC, SYSTEM, SHELL). */
export default defineOptions([
  { name: 'pipes', type: 'bool', groups: ['FORK'], phase: 'fork', summary: 'talk to the program through pipes instead of a socket pair' },
  { name: 'fdin', type: 'uint', groups: ['FORK'], phase: 'fork', summary: "the program's descriptor that receives the relay's data (default 0)" },
  { name: 'fdout', type: 'uint', groups: ['FORK'], phase: 'fork', summary: "the program's descriptor whose output the relay reads (default 1)" },
  { name: 'stderr', type: 'bool', groups: ['FORK'], phase: 'fork', summary: "send the program's stderr into the relay too" },
  { name: 'nofork', type: 'bool', groups: ['FORK'], phase: 'fork', summary: 'the program takes over address 1\'s descriptors directly; tsocat relays nothing and ends with the program\'s status (only on address 2)' },
  { name: 'setsid', aliases: ['sid'], type: 'bool', groups: ['PROCESS'], phase: 'exec', summary: 'run the program in a new session' },
  { name: 'setpgid', aliases: ['pgid'], type: 'int', groups: ['FORK'], phase: 'exec', summary: "the program joins process group <n> (setpgid(0, n)); without a value, 0 or 1 it leads its own group, in tsocat's session" },
  { name: 'path', type: 'string', groups: ['EXEC'], phase: 'exec', summary: 'search the program in this PATH' },
  { name: 'su', aliases: ['substuser'], type: 'user', groups: ['PROCESS'], phase: 'exec', summary: 'run the program as this user' },
]);
