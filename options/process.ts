import { defineOptions } from './catalog.js';

/**
 * Options for addresses that start a program (EXEC, SYSTEM, SHELL), and the
 * PROCESS options every address takes (see src/engine/opening/privileges.ts): on a
 * program address the late ones act on the program, elsewhere on tsocat itself.
 */
export default defineOptions([
  { name: 'pipes', type: 'bool', groups: ['FORK'], phase: 'fork', summary: 'talk to the program through pipes instead of a socket pair' },
  { name: 'fdin', type: 'uint', ctype: 'ushort', groups: ['FORK'], phase: 'fork', summary: "the program's descriptor that receives the relay's data (default 0)" },
  { name: 'fdout', type: 'uint', ctype: 'ushort', groups: ['FORK'], phase: 'fork', summary: "the program's descriptor whose output the relay reads (default 1)" },
  { name: 'stderr', type: 'bool', groups: ['FORK'], phase: 'fork', summary: "send the program's stderr into the relay too" },
  { name: 'nofork', type: 'bool', groups: ['FORK'], phase: 'fork', summary: 'the program takes over address 1\'s descriptors directly; tsocat relays nothing and ends with the program\'s status (only on address 2)' },
  { name: 'setsid', aliases: ['sid'], type: 'bool', groups: ['PROCESS'], phase: 'late', summary: 'a new session: for the program on EXEC/SYSTEM/SHELL, else for tsocat itself' },
  { name: 'setpgid', aliases: ['pgid'], type: 'int', groups: ['FORK'], phase: 'exec', summary: "the program joins process group <n> (setpgid(0, n)); without a value, 0 or 1 it leads its own group, in tsocat's session" },
  { name: 'path', type: 'string', groups: ['EXEC'], phase: 'exec', summary: 'search the program in this PATH' },
  { name: 'shell', type: 'string', groups: ['SHELL'], phase: 'exec', summary: 'SHELL: run the command with this shell (a path) instead of $SHELL; the program\'s SHELL is set to it' },
  { name: 'dash', aliases: ['login'], type: 'bool', groups: ['EXEC'], phase: 'exec', summary: "start the program with '-' before its argv[0], so a shell runs as a login shell" },
  { name: 'su', aliases: ['substuser'], type: 'user', groups: ['PROCESS'], phase: 'late', summary: 'become this user, with its groups, once the address is open (the program on EXEC/SYSTEM/SHELL; else all of tsocat)' },
  { name: 'substuser-delayed', aliases: ['su-d'], type: 'user', groups: ['PROCESS'], phase: 'late', summary: 'as su, but the user is looked up before a chroot and the change comes after it' },
  { name: 'substuser-early', aliases: ['su-e'], type: 'user', groups: ['PROCESS'], phase: 'init', summary: 'tsocat becomes this user, with its groups, before the address opens' },
  { name: 'setuid', type: 'user', groups: ['PROCESS'], phase: 'late', summary: 'change the user id once the address is open; groups stay as they are' },
  { name: 'setuid-early', type: 'user', groups: ['PROCESS'], phase: 'init', summary: "change tsocat's user id before the address opens; groups stay as they are" },
  { name: 'setgid', type: 'group', groups: ['PROCESS'], phase: 'late', summary: 'change the primary group once the address is open (supplementary groups stay)' },
  { name: 'setgid-early', type: 'group', groups: ['PROCESS'], phase: 'init', summary: "change tsocat's primary group before the address opens" },
  { name: 'chroot', type: 'filename', groups: ['PROCESS'], phase: 'late', summary: 'change the root directory once the address is open (later absolute paths are inside it)' },
  { name: 'chroot-early', type: 'filename', groups: ['PROCESS'], phase: 'init', summary: "change tsocat's root directory before the address opens" },
  { name: 'children-shutup', aliases: ['child-shutup'], type: 'int', groups: ['CHILD'], phase: 'accept', summary: "with fork: log each peer's session this many levels lower (1: notices as info, errors as warnings)" },
]);
