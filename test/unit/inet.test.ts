import { describe, expect, it } from 'vitest';
import { environmentAddress } from '../../src/engine/sockets/inet.js';

describe('environmentAddress (SOCAT_PEERADDR and friends)', () => {
  it('keeps IPv4 dotted', () => {
    expect(environmentAddress('127.0.0.1')).toBe('127.0.0.1');
  });

  it('writes IPv6 as eight 4-digit groups in brackets, as socat', () => {
    expect(environmentAddress('::1')).toBe('[0000:0000:0000:0000:0000:0000:0000:0001]');
    expect(environmentAddress('fe80::A:1')).toBe('[fe80:0000:0000:0000:0000:0000:000a:0001]');
    expect(environmentAddress('2001:db8:0:0:1:2:3:4')).toBe('[2001:0db8:0000:0000:0001:0002:0003:0004]');
    expect(environmentAddress('::')).toBe('[0000:0000:0000:0000:0000:0000:0000:0000]');
  });

  it('an IPv4 peer on an IPv6 socket stays in IPv6 form', () => {
    expect(environmentAddress('::ffff:127.0.0.1')).toBe('[0000:0000:0000:0000:0000:ffff:7f00:0001]');
  });
});
