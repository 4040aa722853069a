/** Background programs that say when they are ready in their log (-d -d), for the socket tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach } from 'vitest';
import { stop } from './helpers.js';

/**
 * For a test file: a starter of background programs, each awaited until a
 * line of its stderr matches (an event, never a sleep) and stopped by its pid
 * after the test that started it.
 */
export function loggedStarter(): (program: string[], logLine: RegExp) => Promise<ChildProcess & { log: () => string }> {
  const started: ChildProcess[] = [];
  afterEach(async () => {
    for (const p of started.splice(0)) await stop(p);
  });
  return async (program, logLine) => {
    const [cmd, ...args] = program as [string, ...string[]];
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    started.push(child);
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no "${logLine}" from ${program.join(' ')} in 5 s; log: ${log}`)), 5000);
      child.stderr?.on('data', (d: Buffer) => {
        log += d.toString();
        if (logLine.test(log)) {
          clearTimeout(t);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`${program.join(' ')} exited (${code}) before "${logLine}": ${log}`));
      });
    });
    return Object.assign(child, { log: () => log });
  };
}

/** The contents of a file once it has some (polled, bounded). */
export async function whenWritten(path: string, timeoutMs = 5000): Promise<Buffer> {
  const { readFileSync, statSync } = await import('node:fs');
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    try {
      if (statSync(path).size > 0) return readFileSync(path);
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${path} still empty after ${timeoutMs} ms`);
}
