import { defineOptions } from './catalog.js';

/** Options for addresses that name a file-system entry. */
export default defineOptions([
  { name: 'unlink-early', type: 'bool', groups: ['NAMED'], phase: 'init', summary: 'remove the entry before opening it' },
  { name: 'unlink', type: 'bool', groups: ['NAMED'], phase: 'open', summary: 'remove the entry just before opening it' },
  { name: 'unlink-late', type: 'bool', groups: ['NAMED'], phase: 'late', summary: 'remove the entry after opening it' },
  { name: 'unlink-close', type: 'bool', groups: ['NAMED'], phase: 'late', summary: 'remove the entry when the address closes' },
]);
