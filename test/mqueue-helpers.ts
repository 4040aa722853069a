/** POSIX message queues a test file makes: unique names, each unlinked after its test. */
import { afterEach } from 'vitest';
import { mqUnlink } from '../src/sys/mqueue.js';

/** Registers the clean-up and returns a maker of queue names (`/tsocat-<kind>-<pid>-<n>`). */
export function testQueues(kind: string): () => string {
  const made: string[] = [];
  let counter = 0;
  afterEach(() => {
    for (const name of made.splice(0)) {
      try {
        mqUnlink(name);
      } catch {
        // the test took it already (unlink-close, unlink-early)
      }
    }
  });
  return () => {
    const name = `/tsocat-${kind}-${process.pid}-${++counter}`;
    made.push(name);
    return name;
  };
}
