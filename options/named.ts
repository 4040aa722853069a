import { defineOptions } from './catalog.js';

/** Options for addresses that name a file-system entry. */
export default defineOptions([
  { name: 'unlink-early', aliases: ['new'], type: 'bool', groups: ['NAMED'], phase: 'init', summary: 'remove the entry before opening it' },
  { name: 'unlink', aliases: ['delete', 'remove'], type: 'bool', groups: ['NAMED'], phase: 'open', summary: 'remove the entry just before opening it' },
  { name: 'unlink-late', type: 'bool', groups: ['NAMED'], phase: 'late', summary: 'remove the entry after opening it' },
  { name: 'unlink-close', type: 'bool', groups: ['NAMED'], phase: 'late', summary: 'remove the entry when the address closes' },
  { name: 'user-early', aliases: ['uid-e'], type: 'user', groups: ['NAMED'], phase: 'open', summary: 'change the owner of an existing entry (chown) before it is opened; nothing when it does not exist yet' },
  { name: 'group-early', aliases: ['gid-e'], type: 'group', groups: ['NAMED'], phase: 'open', summary: 'change the group of an existing entry (chown) before it is opened; nothing when it does not exist yet' },
  { name: 'perm-early', type: 'mode', groups: ['NAMED'], phase: 'open', summary: 'change the mode of an existing entry (chmod, no umask) before it is opened; nothing when it does not exist yet' },
]);
