import { defineOptions } from './catalog.js';

/** Options applied by the relay itself, on any address. */
export default defineOptions([
  { name: 'ignoreeof', aliases: ['ignoreof'], type: 'bool', groups: ['APPL'], phase: 'late', summary: 'treat end of file as "no data yet" and keep reading (like tail -f)' },
  { name: 'cr', type: 'const', groups: ['APPL'], phase: 'late', summary: 'convert line ends: this side uses CR, the relay LF' },
  { name: 'crnl', aliases: ['crlf'], type: 'const', groups: ['APPL'], phase: 'late', summary: 'convert line ends: this side uses CR LF, the relay LF' },
  { name: 'readbytes', aliases: ['bytes'], type: 'size', ctype: 'size_t', groups: ['APPL'], phase: 'late', summary: 'read at most this many bytes from the address, then treat it as at EOF' },
  { name: 'escape', type: 'uint', groups: ['APPL'], phase: 'init', summary: 'a byte value (e.g. 0x1b) that ends input from this address, as end of file does' },
  { name: 'lockfile', type: 'filename', groups: ['APPL'], phase: 'init', summary: 'fail unless this lock file can be created (it must not exist); it holds tsocat\'s pid and is removed when the address closes' },
  { name: 'waitlock', type: 'filename', groups: ['APPL'], phase: 'init', summary: 'like lockfile, but wait (checking each second) while the lock file exists' },
  { name: 'chdir', aliases: ['cd'], type: 'filename', groups: ['ADDR'], phase: 'init', summary: 'change to this directory while the address opens' },
  { name: 'umask', type: 'mode', groups: ['ADDR'], phase: 'init', summary: 'use this umask while the address opens (octal)' },
]);
