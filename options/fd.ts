import { parseIoctlValue } from '../src/engine/descriptors/ioctl.js';
import { defineOptions } from './catalog.js';

const ioctlValue = (kind: 'int' | 'intp' | 'bin' | 'string', what: string) => ({
  name: `ioctl-${kind}`,
  type: 'string' as const,
  groups: ['FD' as const],
  phase: 'fd' as const,
  summary: `ioctl(fd, <request>, <value>) on the descriptor, the value ${what}: <request>:<value>`,
  check: (value: string, optionText: string) => void parseIoctlValue(kind, value, optionText),
});

/** Options for any file descriptor. */
export default defineOptions([
  { name: 'cloexec', type: 'bool', groups: ['FD'], phase: 'late', summary: 'set (1) or clear (0) the close-on-exec flag: with cloexec=0 a program started by the other address inherits the descriptor (descriptors of OPEN and FD are close-on-exec by default)' },
  { name: 'setlk', aliases: ['f-setlk-wr', 'f-setlk', 'setlk-wr'], type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take an exclusive POSIX record lock (F_WRLCK) on the whole file, failing when it is held' },
  { name: 'setlkw', aliases: ['lock', 'f-setlkw-wr', 'f-setlkw', 'lockw', 'setlkw-wr'], type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take an exclusive POSIX record lock (F_WRLCK) on the whole file, waiting for it' },
  { name: 'f-setlk-rd', aliases: ['setlk-rd'], type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take a shared POSIX record lock (F_RDLCK) on the whole file, failing when a write lock is held (the descriptor must be open for reading)' },
  { name: 'f-setlkw-rd', aliases: ['setlkw-rd'], type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take a shared POSIX record lock (F_RDLCK) on the whole file, waiting while a write lock is held' },
  { name: 'flock-ex', aliases: ['flock'], type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take an exclusive flock(2) lock, waiting for it' },
  { name: 'flock-ex-nb', aliases: ['flock-nb'], type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take an exclusive flock(2) lock, failing when it is held' },
  { name: 'flock-sh', type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take a shared flock(2) lock, waiting while an exclusive one is held' },
  { name: 'flock-sh-nb', type: 'bool', groups: ['FD'], phase: 'fd', summary: 'take a shared flock(2) lock, failing when an exclusive one is held' },
  { name: 'user', aliases: ['uid', 'owner'], type: 'user', groups: ['FD', 'NAMED'], phase: 'fd', summary: 'change the owner of the file or socket (name or number)' },
  { name: 'group', aliases: ['gid'], type: 'group', groups: ['FD', 'NAMED'], phase: 'fd', summary: 'change the group of the file or socket (name or number)' },
  { name: 'user-late', aliases: ['uid-l'], type: 'user', groups: ['FD'], phase: 'late', summary: 'change the owner of the open descriptor\'s file (fchown) once the address is open' },
  { name: 'group-late', aliases: ['gid-l'], type: 'group', groups: ['FD'], phase: 'late', summary: 'change the group of the open descriptor\'s file (fchown) once the address is open' },
  { name: 'perm-late', type: 'mode', groups: ['FD'], phase: 'late', summary: 'change the mode of the open descriptor\'s file (fchmod, no umask) once the address is open, also for a file that existed' },
  { name: 'cool-write', aliases: ['coolwrite'], type: 'bool', groups: ['FD'], phase: 'late', summary: 'a reader that went away while writing (EPIPE, ECONNRESET) ends the relay with a notice, not an error' },
  { name: 'f-setpipe-sz', aliases: ['pipesz'], type: 'int', groups: ['FD'], phase: 'fd', summary: 'set the kernel buffer size of a pipe (fails on anything else)' },
  { name: 'end-close', aliases: ['close'], type: 'const', groups: ['FD'], phase: 'late', summary: 'at the end just close the address: do not shut a connection down or stop its program (which keeps running)' },
  { name: 'shut-none', type: 'const', groups: ['FD'], phase: 'late', summary: 'when the other side reaches end of file, do nothing to this address' },
  { name: 'shut-down', type: 'const', groups: ['FD'], phase: 'late', summary: 'when the other side reaches end of file, shut down this side\'s writing (shutdown(SHUT_WR) on sockets)' },
  { name: 'shut-close', type: 'const', groups: ['FD'], phase: 'late', summary: 'when the other side reaches end of file, close this side\'s writing' },
  { name: 'shut-null', type: 'const', groups: ['FD'], phase: 'late', summary: 'when the other side reaches end of file, send an empty packet instead of shutting down' },
  { name: 'perm', aliases: ['mode'], type: 'mode', groups: ['FD', 'NAMED'], phase: 'fd', summary: 'permission bits (octal): the mode OPEN, GOPEN and CREATE create a new file with (umask applies; an existing file keeps its mode); on other descriptors fchmod' },
  { name: 'ioctl-void', aliases: ['ioctl'], type: 'uint', groups: ['FD'], phase: 'fd', summary: 'ioctl(fd, <request>, NULL) on the descriptor (request a number, e.g. 0x5450)' },
  ioctlValue('int', 'an int passed as is'),
  ioctlValue('intp', 'an int passed by pointer'),
  ioctlValue('bin', 'bytes in dalan notation (e.g. x01000000) passed by pointer'),
  ioctlValue('string', 'a NUL-terminated string passed by pointer'),
]);
