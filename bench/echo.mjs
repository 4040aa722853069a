/**
 * The echo server of the C-driven row groups (latency, TLS handshakes, idle peers): bench/idle/hold.c
 * in its echo mode, a separate process, so the bench's own event loop is not on any row's path.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC, runC, within } from './cc.mjs';
import { reservePort } from './ports.mjs';

const HOLD_C = join(dirname(fileURLToPath(import.meta.url)), 'idle', 'hold.c');

/** Compiles hold.c into `dir`: { bin } or { skipped }. */
export const compileHold = (dir) => compileC(HOLD_C, dir, 'hold');

/** Starts `hold -l` on a free port (through `wrap`, e.g. a raised descriptor limit); { port, stop }. */
export async function startEcho(holdBin, wrap = []) {
  const port = await reservePort();
  const echo = runC([holdBin, '-l', String(port)], wrap);
  await within(echo.firstLine, 10000, 'C echo server', () => echo.child.kill('SIGKILL'));
  return { port, stop: () => echo.stop() };
}
