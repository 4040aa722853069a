#!/usr/bin/env node
// Entry point: runs the compiled CLI and exits with its status once output is flushed.
import { main } from '../dist/src/cli.js';

process.on('unhandledRejection', (err) => {
  process.stderr.write(`tsocat: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
// Writing to a peer that went away must be an error we report, not a crash.
process.on('SIGPIPE', () => {});

const status = await main(process.argv.slice(2));
process.exit(status);
