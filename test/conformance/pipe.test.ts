import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { asEndpoint, collect, openAddress, testEndpoint } from './suite.js';

testEndpoint({
  name: 'PIPE (unnamed echo pipe)',
  open: async () => ({ endpoint: asEndpoint(await openAddress('PIPE')), received: 'echo' }),
});

// A FIFO opened read-write never sees its own end of data, so the far side is a separate reader.
testEndpoint({
  name: 'PIPE:<fifo> (write side, read by another opener)',
  open: async () => {
    const { dir, cleanup } = tempDir();
    const path = join(dir, 'fifo');
    execFileSync('mkfifo', [path]);
    const reader = createReadStream(path);
    const received = collect(reader, 20000);
    const endpoint = asEndpoint(await openAddress(`PIPE:${path}`, { mode: 'w' }));
    return { endpoint, received: () => received, cleanup: async () => cleanup() };
  },
  failing: () => 'PIPE:/nonexistent-dir/fifo',
});
