/**
 * --progress (tsocat's own): a live line on stderr with the bytes moved each
 * way, their average rate and the time since the relay started, for a relay
 * of one session. On a terminal the line is redrawn in place (log lines clear
 * it first and it comes back below them); elsewhere (a pipe, a file) one line
 * is written each interval. Without the flag it is on only when stderr is a
 * terminal and -d -d (notices) was given, so scripts never get it unasked.
 */
import { writeSync } from 'node:fs';
import type { Statistics } from '../engine/relay/statistics.js';
import { monotonicMs, onStderrLine } from '../log/logger.js';

export const PROGRESS_INTERVAL_MS = 1000;

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB": for the rate; the byte counts are shown exactly. */
export function humanBytes(n: number): string {
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(n)} B` : `${n.toFixed(1)} ${UNITS[unit]}`;
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const pad = (v: number) => String(v).padStart(2, '0');
  return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

/** The progress line: `progress: > 1048576 bytes (512.0 KiB/s)  < 0 bytes (0 B/s)  0:00:02`. */
export function progressLine(stats: Statistics, directions: { leftToRight: boolean; rightToLeft: boolean }, elapsedMs: number): string {
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const part = (leftToRight: boolean) => {
    const bytes = stats.bytes(leftToRight);
    return `${leftToRight ? '>' : '<'} ${bytes} bytes (${humanBytes(bytes / seconds)}/s)`;
  };
  const parts = [directions.leftToRight && part(true), directions.rightToLeft && part(false)].filter((p) => p !== false);
  return `progress: ${parts.join('  ')}  ${clock(elapsedMs)}`;
}

/** Starts the live line; the function returned writes the last one and stops. */
export function startProgress(stats: Statistics, directions: { leftToRight: boolean; rightToLeft: boolean }): () => void {
  const started = monotonicMs();
  const terminal = process.stderr.isTTY === true;
  let shown = false;
  const write = (text: string) => {
    try {
      writeSync(2, text);
    } catch {
      // stderr gone or full: progress is not worth waiting for
    }
  };
  const draw = () => {
    const line = progressLine(stats, directions, monotonicMs() - started);
    if (terminal) {
      write(`\r${line}\x1b[K`);
      shown = true;
    } else write(`${line}\n`);
  };
  if (terminal) {
    onStderrLine(() => {
      if (!shown) return;
      write('\r\x1b[K');
      shown = false;
    });
  }
  const timer = setInterval(draw, PROGRESS_INTERVAL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    onStderrLine(undefined);
    draw();
    if (terminal) write('\n');
  };
}
