import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { asEndpoint, openAddress, testEndpoint } from './suite.js';

for (const keyword of ['CREATE', 'OPEN', 'GOPEN']) {
  testEndpoint({
    name: `${keyword}:<file>`,
    open: async () => {
      const { dir, cleanup } = tempDir();
      const path = join(dir, 'out');
      if (keyword !== 'CREATE') writeFileSync(path, '');
      const endpoint = asEndpoint(await openAddress(`${keyword}:${path}`, { mode: 'w' }));
      return { endpoint, received: async () => readFileSync(path), cleanup: async () => cleanup() };
    },
    failing: () => `${keyword}:/nonexistent-dir/file`,
    noBackpressure: true, // a regular file never blocks a writer
  });
}

testEndpoint({
  name: 'FD:<num> (a file opened by the caller)',
  open: async () => {
    const { dir, cleanup } = tempDir();
    const path = join(dir, 'out');
    const fd = openSync(path, 'w');
    const endpoint = asEndpoint(await openAddress(`FD:${fd}`, { mode: 'w' }));
    return { endpoint, received: async () => readFileSync(path), cleanup: async () => cleanup() };
  },
  failing: () => 'FD:999',
  noBackpressure: true,
});
