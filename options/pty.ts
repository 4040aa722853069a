import { defineOptions } from './catalog.js';

/**
 * Pseudo-terminals: the PTY address (socat's PTY group) and a program on a
 * pty (EXEC/SYSTEM/SHELL with `pty`; the PARENT group passes signals to it).
 */
export default defineOptions([
  { name: 'pty', type: 'bool', groups: ['FORK'], phase: 'fork', summary: 'give the program a pseudo-terminal (node-pty) as stdin and stdout instead of a socket pair' },
  { name: 'openpty', type: 'bool', groups: ['PTY'], phase: 'init', summary: 'make the pty with openpty() (what tsocat always does, through node-pty)' },
  { name: 'ptmx', type: 'bool', groups: ['PTY'], phase: 'init', summary: "socat opens /dev/ptmx itself; tsocat's node-pty uses openpty(), which opens the same device" },
  { name: 'symbolic-link', aliases: ['link'], type: 'filename', groups: ['PTY'], phase: 'late', summary: 'make a symbolic link to the slave side (/dev/pts/N) at this path; removed on exit unless unlink-close=0' },
  { name: 'pty-wait-slave', aliases: ['wait-slave', 'waitslave'], type: 'bool', groups: ['PTY'], phase: 'init', summary: 'wait until a program opens the slave side before going on' },
  { name: 'pty-interval', aliases: ['pty-intervall'], type: 'timeval', groups: ['PTY'], phase: 'init', summary: 'with wait-slave: seconds between checks whether the slave is open (default 1)' },
  { name: 'sighup', type: 'const', groups: ['PARENT'], phase: 'late', summary: "pass SIGHUP to the program instead of ending tsocat" },
  { name: 'sigint', type: 'const', groups: ['PARENT'], phase: 'late', summary: 'pass SIGINT to the program instead of ending tsocat' },
  { name: 'sigquit', type: 'const', groups: ['PARENT'], phase: 'late', summary: 'pass SIGQUIT to the program instead of ending tsocat' },
]);
