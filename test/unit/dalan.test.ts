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
});
