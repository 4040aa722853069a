#!/usr/bin/env node
// Entry point: runs the bundled CLI (scripts/bundle.mjs) and exits with its status once output is flushed.
// CommonJS (bin/package.json), like the bundle: Node's ES module loader would cost more than tsocat's own start-up.
'use strict';

// Node 22.1+ caches the bundle's compiled code between runs; Node 20 has no such cache and compiles it each time.
require('node:module').enableCompileCache?.();

const { endedBySignal, exitWith, loadedModules, main } = require('../dist/tsocat.cjs');

// TSOCAT_DEBUG_MODULES=1: one JSON line on stderr at exit with what the run loaded (address families, Node built-ins, files)
if (process.env.TSOCAT_DEBUG_MODULES) process.on('exit', () => require('node:fs').writeSync(2, `${JSON.stringify(loadedModules())}\n`));

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

main(process.argv.slice(2)).then(async (status) => {
  if (!endedBySignal()) await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  exitWith(status);
});
