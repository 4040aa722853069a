/**
 * Nothing but tsocat's own log lines on stderr: Node's process warnings
 * (deprecations, experimental features, listener counts) and errors nobody
 * caught become one log line in tsocat's format (JSON with --log-format json),
 * instead of Node's raw text and stack.
 */
import type { Logger } from '../log/logger.js';
import { exitWith } from './exit.js';

let current: Logger | undefined;
let installed = false;

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Routes Node's process output through `log` from now on (called again when the command line has chosen the logger). */
export function routeProcessOutput(log: Logger): void {
  current = log;
  if (installed) return;
  installed = true;
  // Node prints warnings through its own 'warning' listener; ours replaces it
  process.removeAllListeners('warning');
  process.on('warning', (w) => current?.log('W', `${w.name}: ${w.message}`));
  const fatal = (err: unknown) => {
    current?.log('E', `internal error: ${describe(err)}`);
    if (process.env.TSOCAT_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    exitWith(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}
