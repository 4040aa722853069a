import { defineOptions } from './catalog.js';

/**
 * Inode flags socat sets with FS_IOC_SETFLAGS (what chattr does), by option
 * name; value 1 sets the flag, 0 clears it. ext2-* are socat's older names.
 */
export const INODE_FLAGS: Array<[name: string, bit: number, summary: string, shortNames?: string[]]> = [
  ['fs-secrm', 0x1, 'secure deletion', ['secrm']],
  ['fs-unrm', 0x2, 'undelete', ['unrm']],
  ['fs-compr', 0x4, 'compress the file', ['compr']],
  ['fs-sync', 0x8, 'synchronous updates'],
  ['fs-immutable', 0x10, 'immutable file', ['immutable']],
  ['fs-append', 0x20, 'writes may only append'],
  ['fs-nodump', 0x40, 'no dump', ['nodump']],
  ['fs-noatime', 0x80, 'do not update the access time'],
  ['fs-journal-data', 0x4000, 'journal file data', ['journal-data', 'journal']],
  ['fs-notail', 0x8000, 'no tail merging'],
  ['fs-dirsync', 0x10000, 'synchronous directory updates', ['dirsync']],
  ['fs-topdir', 0x20000, 'top of a directory hierarchy', ['topdir']],
];

/**
 * Options for regular files. socat's 32- and 64-bit spellings (lseek32-*, lseek64-*,
 * ftruncate32, ftruncate64) are aliases: on 64-bit Linux off_t is 64 bits wide either way.
 * Offsets are signed, as socat reads them: seek-end=-10 starts 10 bytes before the end,
 * and a negative offset where the kernel refuses it fails in lseek, as in socat.
 */
export default defineOptions([
  { name: 'ftruncate', aliases: ['truncate', 'ftruncate64', 'ftruncate32'], type: 'int', ctype: 'off_t', groups: ['REG'], phase: 'late', summary: 'cut the file to this many bytes once it is open' },
  { name: 'seek', aliases: ['lseek', 'seek-set', 'lseek64-set', 'lseek64', 'lseek32-set', 'lseek32'], type: 'int', ctype: 'off_t', groups: ['REG'], phase: 'late', summary: 'start at this byte offset of a regular file (lseek SEEK_SET)' },
  { name: 'seek-cur', aliases: ['lseek64-cur', 'lseek32-cur'], type: 'int', ctype: 'off_t', groups: ['REG'], phase: 'late', summary: 'move the offset by this many bytes from where it is once the file is open (lseek SEEK_CUR)' },
  { name: 'seek-end', aliases: ['lseek64-end', 'lseek32-end'], type: 'int', ctype: 'off_t', groups: ['REG'], phase: 'late', summary: 'start this many bytes from the end of the file (lseek SEEK_END); seek-end=0 with ignoreeof follows a growing file like tail -f' },
  ...INODE_FLAGS.map(([name, , what, shortNames]) => ({
    name,
    aliases: [name.replace(/^fs-/, 'ext2-'), name.replace(/^fs-/, 'ext3-'), ...(shortNames ?? [])],
    type: 'bool' as const,
    groups: ['REG' as const],
    phase: 'fd' as const,
    summary: `inode flag (chattr): ${what}`,
  })),
]);
