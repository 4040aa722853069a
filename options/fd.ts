import { defineOptions } from './catalog.js';

/** Options for any file descriptor. */
export default defineOptions([
  { name: 'cloexec', type: 'bool', groups: ['FD'], phase: 'late', summary: 'set (1) or clear (0) the close-on-exec flag: with cloexec=0 a program started by the other address inherits the descriptor (descriptors of OPEN and FD are close-on-exec by default)' },
  { name: 'setlk', type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take an exclusive POSIX record lock on the whole file, failing when it is held' },
  { name: 'setlkw', aliases: ['lock'], type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take an exclusive POSIX record lock on the whole file, waiting for it' },
  { name: 'flock-ex', aliases: ['flock'], type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take an exclusive flock(2) lock, waiting for it' },
  { name: 'flock-ex-nb', aliases: ['flock-nb'], type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take an exclusive flock(2) lock, failing when it is held' },
  { name: 'user', aliases: ['uid', 'owner'], type: 'user', groups: ['FD', 'NAMED'], phase: 'fd', summary: 'change the owner of the file or socket (name or number)' },
  { name: 'group', aliases: ['gid'], type: 'group', groups: ['FD', 'NAMED'], phase: 'fd', summary: 'change the group of the file or socket (name or number)' },
  { name: 'cool-write', aliases: ['coolwrite'], type: 'bool', groups: ['FD'], phase: 'late', summary: 'a reader that went away while writing (EPIPE, ECONNRESET) ends the relay with a notice, not an error' },
  { name: 'f-setpipe-sz', aliases: ['pipesz'], type: 'int', groups: ['FD'], phase: 'fd', summary: 'set the kernel buffer size of a pipe (fails on anything else)' },
  { name: 'end-close', aliases: ['close'], type: 'const', groups: ['FD'], phase: 'late', summary: 'at the end just close the address: do not shut a connection down or stop its program (which keeps running)' },
  { name: 'shut-none', type: 'const', groups: ['FD'], phase: 'late', summary: 'when the other side reaches end of file, do nothing to this address' },
  { name: 'shut-down', type: 'const', groups: ['FD'], phase: 'late', summary: 'when the other side reaches end of file, shut down this side\'s writing (shutdown(SHUT_WR) on sockets)' },
  { name: 'shut-close', type: 'const', groups: ['FD'], phase: 'late', summary: 'when the other side reaches end of file, close this side\'s writing' },
  { name: 'shut-null', type: 'const', groups: ['FD'], phase: 'late', summary: 'when the other side reaches end of file, send an empty packet instead of shutting down' },
  { name: 'perm', aliases: ['mode'], type: 'mode', groups: ['FD', 'NAMED'], phase: 'fd', summary: 'permission bits (octal): the mode OPEN, GOPEN and CREATE create a new file with (umask applies; an existing file keeps its mode); on other descriptors fchmod' },
]);
