import { describe, expect, it } from 'vitest';
import { parseDalan } from '../../src/engine/descriptors/dalan.js';
import { TsocatError } from '../../src/errors.js';

describe('dalan (setsockopt values)', () => {
  it('a bare number is a 4-byte int in host order', () => {
    expect(parseDalan('512').toString('hex')).toBe('00020000');
    expect(parseDalan('-1').toString('hex')).toBe('ffffffff');
  });

  it('type letters pick the width', () => {
    expect(parseDalan('s1 b2 l3').toString('hex')).toBe('0100' + '02' + '0300000000000000');
    expect(parseDalan('I0x10').toString('hex')).toBe('10000000');
  });

  it('hex bytes, strings and chars with C escapes', () => {
    expect(parseDalan('x7f000001').toString('hex')).toBe('7f000001');
    expect(parseDalan('"a\\n"').toString('latin1')).toBe('a\n');
    expect(parseDalan("'z'").toString('latin1')).toBe('z');
  });

  it('refuses what it cannot read', () => {
    expect(() => parseDalan('zz')).toThrow(TsocatError);
    expect(() => parseDalan('x123')).toThrow(TsocatError);
    expect(() => parseDalan('"open')).toThrow(TsocatError);
  });

  it('numbers are checked against their type: the edges taken, one past them refused with the range, never a Node range message', () => {
    expect(parseDalan('i2147483647 i-2147483648').toString('hex')).toBe('ffffff7f' + '00000080');
    expect(parseDalan('I4294967295 B255 S65535').toString('hex')).toBe('ffffffff' + 'ff' + 'ffff');
    expect(() => parseDalan('i2147483648')).toThrow('dalan: number "2147483648" in "i2147483648" exceeds the range of its 4-byte signed type (-2147483648 to 2147483647)');
    expect(() => parseDalan('99999999999999999999')).toThrow(/exceeds the range of its 4-byte signed type/);
    expect(() => parseDalan('B256')).toThrow('(0 to 255)');
    expect(() => parseDalan('I-1')).toThrow('(0 to 4294967295)');
    expect(() => parseDalan('L18446744073709551616')).toThrow('8-byte unsigned type');
  });
});
