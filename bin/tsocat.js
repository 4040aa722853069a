#!/usr/bin/env node
// Entry point: runs the bundled CLI (scripts/bundle.mjs) and exits with its status once output is flushed.
import { endedBySignal, exitWith, main } from '../dist/tsocat.mjs';

// Writing to a peer that went away must be an error we report, not a crash.
process.on('SIGPIPE', () => {});

/**
 * Writes to a pipe are asynchronous in Node; process.exit() would drop whatever
 * is still queued. An empty write's callback runs after every earlier write.
 */
function flushed(stream) {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    stream.write('', () => resolve());
    stream.once('error', () => resolve());
  });
}

const status = await main(process.argv.slice(2));
if (!endedBySignal()) await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
exitWith(status);
