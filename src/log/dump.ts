/**
 * socat's -v / -x transfer dumps, written to stderr: a header per block
 * (`> 2026/11/24 14:00:00.123456  length=6 from=0 to=5`) and the data as text,
 * as hex, or both (-v -x: 16 bytes a line with a text column).
 */
import { writeSync } from 'node:fs';
import { nowMicros, timestamp } from './logger.js';

export type DumpStyle = 'text' | 'hex' | 'both';

const TEXT_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\t', 10: '\n', 11: '\\v', 12: '\\f', 13: '\\r', 92: '\\\\' };

function printable(c: number): boolean {
  return c >= 0x20 && c < 0x7f;
}

export function dumpText(data: Uint8Array): string {
  let out = '';
  for (const c of data) out += TEXT_ESCAPES[c] ?? (printable(c) ? String.fromCharCode(c) : '.');
  return out;
}

export function dumpHex(data: Uint8Array): string {
  let out = '';
  for (const c of data) out += ` ${c.toString(16).padStart(2, '0')}`;
  return `${out}\n`;
}

/** -v -x together: up to 16 bytes a line, and a line also ends after a newline byte. */
export function dumpHexWithText(data: Uint8Array): string {
  let out = '';
  let s = 0;
  while (s < data.length) {
    const limit = Math.min(16, data.length - s);
    let n = 0;
    while (n < limit) {
      const c = data[s + n] as number;
      n++;
      if (c === 10) break;
    }
    const slice = data.subarray(s, s + n);
    let hex = '';
    let text = '';
    for (const c of slice) {
      hex += ` ${c.toString(16).padStart(2, '0')}`;
      text += printable(c) ? String.fromCharCode(c) : '.';
    }
    out += `${hex}${'   '.repeat(16 - n)}  ${text}\n`;
    s += n;
  }
  return `${out}--\n`;
}

/** Formats one block for one direction; `from` is the byte count before it. */
export function formatDump(style: DumpStyle, leftToRight: boolean, from: number, data: Uint8Array, when = nowMicros()): string {
  const header = `${leftToRight ? '>' : '<'} ${timestamp(when.date, true, when.micros)}  length=${data.length} from=${from} to=${from + data.length - 1}\n`;
  const body = style === 'text' ? dumpText(data) : style === 'hex' ? dumpHex(data) : dumpHexWithText(data);
  return header + body;
}

/** One direction's dumper: keeps the running byte count socat prints in from=/to=. */
export function makeDumper(style: DumpStyle, leftToRight: boolean, fd = 2): (data: Uint8Array) => void {
  let total = 0;
  return (data) => {
    const text = formatDump(style, leftToRight, total, data);
    total += data.length;
    try {
      writeSync(fd, text);
    } catch {
      // a closed stderr must not stop the relay
    }
  };
}
