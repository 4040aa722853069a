import { defineOptions } from './catalog.js';

/** Options for regular files. */
export default defineOptions([
  { name: 'ftruncate', aliases: ['truncate'], type: 'size', groups: ['REG'], phase: 'late', summary: 'cut the file to this many bytes once it is open' },
]);
