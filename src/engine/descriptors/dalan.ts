/**
 * socat's "dalan" data notation for raw option values (setsockopt=…):
 * i/I int, l/L long, s/S short, b/B byte (host byte order), x hex bytes,
 * "text" and 'c' with C escapes; a bare number is an int. Items may follow
 * each other, separated by white space.
 */
import { endianness } from 'node:os';
import { TsocatError } from '../../errors.js';

const LITTLE = endianness() === 'LE';
const SIZES: Record<string, number> = { i: 4, I: 4, l: 8, L: 8, s: 2, S: 2, b: 1, B: 1 };
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', f: '\f', b: '\b', a: '\x07', e: '\x1b', '0': '\0', '\\': '\\', '"': '"', "'": "'" };

function integer(type: string, text: string, whole: string): Buffer {
  const size = SIZES[type] as number;
  let value: bigint;
  try {
    value = BigInt(text);
  } catch {
    throw new TsocatError(`dalan: bad number "${text}" in "${whole}"`, 'EOPTVALUE');
  }
  const buf = Buffer.alloc(size);
  const signed = type === type.toLowerCase();
  // checked here, in socat's C types' ranges: past them Node's writers throw their own range message
  const bits = BigInt(size * 8);
  const [low, high] = signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
  if (value < low || value > high) throw new TsocatError(`dalan: number "${text}" in "${whole}" exceeds the range of its ${size}-byte ${signed ? 'signed' : 'unsigned'} type (${low} to ${high})`, 'EOPTVALUE');
  if (size === 8) {
    if (signed) LITTLE ? buf.writeBigInt64LE(value) : buf.writeBigInt64BE(value);
    else LITTLE ? buf.writeBigUInt64LE(value) : buf.writeBigUInt64BE(value);
  } else if (signed) {
    LITTLE ? buf.writeIntLE(Number(value), 0, size) : buf.writeIntBE(Number(value), 0, size);
  } else {
    LITTLE ? buf.writeUIntLE(Number(value), 0, size) : buf.writeUIntBE(Number(value), 0, size);
  }
  return buf;
}

function quoted(text: string, from: number, quote: string, whole: string): { bytes: Buffer; end: number } {
  let out = '';
  let i = from;
  for (; i < text.length && text[i] !== quote; i++) {
    if (text[i] === '\\' && i + 1 < text.length) {
      i++;
      out += ESCAPES[text[i] as string] ?? text[i];
    } else {
      out += text[i];
    }
  }
  if (i >= text.length) throw new TsocatError(`dalan: missing closing ${quote} in "${whole}"`, 'EOPTVALUE');
  return { bytes: Buffer.from(out, 'latin1'), end: i + 1 };
}

export function parseDalan(text: string): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const q = quoted(text, i + 1, c, text);
      parts.push(q.bytes);
      i = q.end;
      continue;
    }
    const m = /^([iIlLsSbB]?)([+-]?(?:0[xX][0-9a-fA-F]+|\d+))/.exec(text.slice(i));
    if (m) {
      parts.push(integer(m[1] || 'i', m[2] as string, text));
      i += m[0].length;
      continue;
    }
    const hex = /^x([0-9a-fA-F]*)/.exec(text.slice(i));
    if (hex && (hex[1] as string).length % 2 === 0) {
      parts.push(Buffer.from(hex[1] as string, 'hex'));
      i += hex[0].length;
      continue;
    }
    throw new TsocatError(`dalan: cannot read "${text.slice(i)}" in "${text}"`, 'EOPTVALUE');
  }
  return Buffer.concat(parts);
}
