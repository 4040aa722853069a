#!/usr/bin/env node
// Entry point: runs the bundled CLI (scripts/bundle.mjs) and exits with its status once output is flushed.
// CommonJS (bin/package.json), like the bundle: Node's ES module loader would cost more than tsocat's own start-up.
'use strict';

const nodeModule = require('node:module');
const { join } = require('node:path');

const BUNDLE = join(__dirname, '..', 'dist', 'tsocat.cjs');

/**
 * Node 20 has no compile cache: the bundle is compiled through node:vm with the
 * V8 code cache the build made next to it (dist/tsocat.cjs.cache). V8 refuses a
 * cache made from other source, by another V8 or under other flags, and then
 * compiles as usual. TSOCAT_WRITE_CODE_CACHE=1 writes the cache at exit (the build does).
 */
function loadWithCodeCache() {
  const { readFileSync, writeFileSync } = require('node:fs');
  const vm = require('node:vm');
  let cachedData;
  try {
    cachedData = readFileSync(`${BUNDLE}.cache`);
  } catch {
    // no cache: compile as require() would
  }
  const script = new vm.Script(nodeModule.wrap(readFileSync(BUNDLE, 'utf8')), { filename: BUNDLE, cachedData });
  const mod = new nodeModule(BUNDLE, module);
  mod.filename = BUNDLE;
  mod.loaded = true;
  script.runInThisContext()(mod.exports, nodeModule.createRequire(BUNDLE), mod, BUNDLE, join(__dirname, '..', 'dist'));
  if (process.env.TSOCAT_WRITE_CODE_CACHE) {
    process.on('exit', () => {
      try {
        writeFileSync(`${BUNDLE}.cache`, script.createCachedData());
      } catch (err) {
        require('node:fs').writeSync(2, `tsocat: code cache not written: ${err.message}\n`);
      }
    });
  }
  return mod.exports;
}

/**
 * process.stdout and process.stderr are made on first use, and making one for
 * a pipe loads node:net and the stream modules: note which were made, so the
 * flush at exit does not make the others.
 */
const made = new Set();
for (const name of ['stdout', 'stderr']) {
  const { get, enumerable } = Object.getOwnPropertyDescriptor(process, name);
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable,
    get() {
      made.add(name);
      return get.call(process);
    },
  });
}

// Node 22.1+ keeps the compiled bundle in its own compile cache between runs
const { endedBySignal, exitWith, loadedModules, main } = nodeModule.enableCompileCache ? (nodeModule.enableCompileCache(), require(BUNDLE)) : loadWithCodeCache();

// TSOCAT_DEBUG_MODULES=1: one JSON line on stderr at exit with what the run loaded (address families, Node built-ins, files)
if (process.env.TSOCAT_DEBUG_MODULES) process.on('exit', () => require('node:fs').writeSync(2, `${JSON.stringify(loadedModules())}\n`));

// Writing to a peer that went away must be an error we report, not a crash.
process.on('SIGPIPE', () => {});

/**
 * Writes to a pipe are asynchronous in Node; process.exit() would drop whatever
 * is still queued. An empty write's callback runs after every earlier write.
 */
function flushed(name) {
  if (!made.has(name)) return Promise.resolve();
  const stream = process[name];
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    stream.write('', () => resolve());
    stream.once('error', () => resolve());
  });
}

main(process.argv.slice(2)).then(async (status) => {
  if (!endedBySignal()) await Promise.all([flushed('stdout'), flushed('stderr')]);
  exitWith(status);
});
