import { defineOptions } from './catalog.js';

/** open(2) flags for OPEN, CREATE, GOPEN and bare paths. */
export default defineOptions([
  { name: 'o-creat', aliases: ['creat', 'create', 'o-create', 'o_creat', 'o_create'], type: 'bool', groups: ['OPEN'], phase: 'open', summary: 'create the file if it does not exist' },
  { name: 'o-excl', aliases: ['excl', 'o_excl'], type: 'bool', groups: ['OPEN'], phase: 'open', summary: 'with creat: fail if the file exists' },
  { name: 'o-trunc', aliases: ['trunc'], type: 'bool', groups: ['OPEN'], phase: 'open', summary: 'truncate the file to length 0 on opening' },
  { name: 'o-append', aliases: ['append'], type: 'bool', groups: ['OPEN', 'FD'], phase: 'open', summary: 'write at the end of the file' },
  { name: 'o-rdonly', aliases: ['rdonly', 'o_rdonly'], type: 'bool', groups: ['OPEN'], phase: 'open', summary: 'open for reading only' },
  { name: 'o-wronly', aliases: ['wronly', 'o_wronly'], type: 'bool', groups: ['OPEN'], phase: 'open', summary: 'open for writing only' },
  { name: 'o-rdwr', aliases: ['rdwr', 'o_rdwr'], type: 'bool', groups: ['OPEN'], phase: 'open', summary: 'open for reading and writing' },
  { name: 'o-nonblock', aliases: ['nonblock', 'o-ndelay', 'ndelay', 'o_ndelay'], type: 'bool', groups: ['OPEN', 'FD'], phase: 'open', summary: 'open in non-blocking mode' },
  { name: 'o-noctty', aliases: ['noctty', 'o_noctty'], type: 'bool', groups: ['OPEN'], phase: 'open', summary: 'do not make a terminal the controlling one' },
  { name: 'o-sync', aliases: ['sync', 'o_sync'], type: 'bool', groups: ['OPEN', 'FD'], phase: 'open', summary: 'write synchronously' },
  { name: 'o-noatime', aliases: ['noatime'], type: 'bool', groups: ['OPEN', 'FD'], phase: 'open', summary: 'do not update the access time' },
  { name: 'o-nofollow', aliases: ['nofollow', 'o_nofollow'], type: 'bool', groups: ['OPEN'], phase: 'open', summary: 'fail if the path is a symbolic link' },
  { name: 'o-directory', aliases: ['directory', 'o_directory'], type: 'bool', groups: ['OPEN'], phase: 'open', summary: 'fail if the path is not a directory' },
  { name: 'o-dsync', aliases: ['dsync', 'o_dsync'], type: 'bool', groups: ['OPEN'], phase: 'open', summary: 'write data synchronously (O_DSYNC: each write waits for the data, not all metadata, to reach the disk)' },
  { name: 'o-rsync', aliases: ['rsync', 'o_rsync'], type: 'bool', groups: ['OPEN'], phase: 'open', summary: 'O_RSYNC: reads wait for pending writes as o-sync does (on Linux O_RSYNC is O_SYNC)' },
  { name: 'o-largefile', aliases: ['largefile', 'o_largefile'], type: 'bool', groups: ['OPEN'], phase: 'open', summary: 'O_LARGEFILE: files over 2 GiB; on 64-bit Linux every open has it already (the flag is 0 there, as in socat)' },
  { name: 'o-async', aliases: ['async'], type: 'bool', groups: ['OPEN', 'FD'], phase: 'late', summary: 'set O_ASYNC on the descriptor (signal-driven I/O; like socat, tsocat sets no owner with F_SETOWN)' },
  { name: 'o-direct', aliases: ['direct', 'o_direct'], type: 'bool', groups: ['OPEN'], phase: 'open', summary: 'bypass the page cache (reads use page-aligned buffers; writes must be whole blocks)' },
]);
