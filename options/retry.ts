import { defineOptions } from './catalog.js';

/** What to do when an address fails to open. */
export default defineOptions([
  { name: 'retry', type: 'uint', groups: ['RETRY'], phase: 'init', summary: 'try this many more times when opening fails' },
  { name: 'forever', type: 'bool', groups: ['RETRY'], phase: 'init', summary: 'retry opening without limit' },
  { name: 'interval', aliases: ['intervall'], type: 'timeval', groups: ['RETRY'], phase: 'init', summary: 'seconds between attempts, and between connections of a connecting address with fork (default 1)' },
]);
