import { defineOptions } from './catalog.js';

/**
 * Inode flags socat sets with FS_IOC_SETFLAGS (what chattr does), by option
 * name; value 1 sets the flag, 0 clears it. ext2-* are socat's older names.
 */
export const INODE_FLAGS: Array<[name: string, bit: number, summary: string]> = [
  ['fs-secrm', 0x1, 'secure deletion'],
  ['fs-unrm', 0x2, 'undelete'],
  ['fs-compr', 0x4, 'compress the file'],
  ['fs-sync', 0x8, 'synchronous updates'],
  ['fs-immutable', 0x10, 'immutable file'],
  ['fs-append', 0x20, 'writes may only append'],
  ['fs-nodump', 0x40, 'no dump'],
  ['fs-noatime', 0x80, 'do not update the access time'],
  ['fs-journal-data', 0x4000, 'journal file data'],
  ['fs-notail', 0x8000, 'no tail merging'],
  ['fs-dirsync', 0x10000, 'synchronous directory updates'],
  ['fs-topdir', 0x20000, 'top of a directory hierarchy'],
];

/** Options for regular files. */
export default defineOptions([
  { name: 'ftruncate', aliases: ['truncate'], type: 'size', groups: ['REG'], phase: 'late', summary: 'cut the file to this many bytes once it is open' },
  ...INODE_FLAGS.map(([name, , what]) => ({
    name,
    aliases: [name.replace(/^fs-/, 'ext2-')],
    type: 'bool' as const,
    groups: ['REG' as const],
    phase: 'fd' as const,
    summary: `inode flag (chattr): ${what}`,
  })),
]);
