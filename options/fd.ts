import { defineOptions } from './catalog.js';

/** Options for any file descriptor. */
export default defineOptions([
  { name: 'cloexec', type: 'bool', groups: ['FD'], phase: 'late', summary: 'set the close-on-exec flag on the descriptor' },
  { name: 'setlk', aliases: ['lock'], type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take an exclusive POSIX record lock, failing when it is held' },
  { name: 'setlkw', type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take an exclusive POSIX record lock, waiting for it' },
  { name: 'flock-ex', aliases: ['flock'], type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take an exclusive flock(2) lock, waiting for it' },
  { name: 'flock-ex-nb', aliases: ['flock-nb'], type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take an exclusive flock(2) lock, failing when it is held' },
  { name: 'user', aliases: ['uid', 'owner'], type: 'user', groups: ['FD', 'NAMED'], phase: 'fd', summary: 'change the owner of the file or socket (name or number)' },
  { name: 'group', aliases: ['gid'], type: 'group', groups: ['FD', 'NAMED'], phase: 'fd', summary: 'change the group of the file or socket (name or number)' },
  { name: 'perm', aliases: ['mode'], type: 'mode', groups: ['FD', 'NAMED'], phase: 'fd', summary: 'set the permission bits (octal)' },
]);
