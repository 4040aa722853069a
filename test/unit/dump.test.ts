import { describe, expect, it } from 'vitest';
import { lineTermConverter } from '../../src/engine/relay/lineterm.js';
import { dumpHex, dumpHexWithText, dumpText, formatDump } from '../../src/log/dump.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('dumps (-v / -x)', () => {
  it('writes socat\'s block header with running offsets', () => {
    const when = { date: new Date(2026, 10, 24, 14, 0, 5), micros: 1764000000123456n };
    expect(formatDump('hex', true, 0, b('hello'), when)).toBe('> 2026/11/24 14:00:05.123456  length=5 from=0 to=4\n 68 65 6c 6c 6f\n');
    expect(formatDump('text', false, 5, b('ab'), when).split('\n')[0]).toBe('< 2026/11/24 14:00:05.123456  length=2 from=5 to=6');
  });

  it('escapes text dumps as socat does', () => {
    expect(dumpText(b('a\tb\r\n\\\x01'))).toBe('a\tb\\r\n\\\\.');
  });

  it('hex dumps every byte', () => {
    expect(dumpHex(b('\x00\xff'))).toBe(' 00 ff\n');
  });

  it('-v -x prints 16 bytes a line with a text column, breaking after newline', () => {
    expect(dumpHexWithText(b('hi\nthere'))).toBe(
      ` 68 69 0a${'   '.repeat(13)}  hi.\n 74 68 65 72 65${'   '.repeat(11)}  there\n--\n`,
    );
  });
});

describe('line-end conversion (cr, crnl)', () => {
  it('crnl to raw drops CR', () => {
    expect(lineTermConverter('crnl', 'raw')?.(b('a\r\nb\r\n')).toString()).toBe('a\nb\n');
  });
  it('raw to crnl adds CR', () => {
    expect(lineTermConverter('raw', 'crnl')?.(b('a\nb\n')).toString()).toBe('a\r\nb\r\n');
  });
  it('cr and raw swap CR and LF', () => {
    expect(lineTermConverter('cr', 'raw')?.(b('a\rb')).toString()).toBe('a\nb');
    expect(lineTermConverter('raw', 'cr')?.(b('a\nb')).toString()).toBe('a\rb');
  });
  it('does nothing when both sides agree', () => {
    expect(lineTermConverter('raw', 'raw')).toBeNull();
  });
});
