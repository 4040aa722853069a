/**
 * The PROXY protocol header parser reads bytes a stranger chose. For random
 * and mutated input it must answer "need more", a header, or one TsocatError,
 * never another exception; what the encoder writes it must read back as the
 * same connection, whole or fed a byte at a time.
 */
import { SocketAddress } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeProxyHeader, parseProxyHeader, V2_SIGNATURE } from '../../src/engine/handshakes/proxy-header.js';
import { TsocatError } from '../../src/errors.js';

const RUNS = 5_000;

/** The parser's answer, with anything but a TsocatError let through to fail the property. */
function answer(bytes: Buffer): 'more' | 'header' | 'refused' {
  try {
    return parseProxyHeader(bytes) ? 'header' : 'more';
  } catch (err) {
    if (err instanceof TsocatError) return 'refused';
    throw err;
  }
}

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
const port = fc.nat(65535);
const v6Compact = (a: string) => new SocketAddress({ address: a, family: 'ipv6' }).address;

describe('PROXY protocol header parser', () => {
  it('settles on random bytes, on bytes after either signature, and on every prefix of them', () => {
    const prefixes = fc.constantFrom(Buffer.alloc(0), Buffer.from('PROXY '), Buffer.from('PROXY TCP4 '), V2_SIGNATURE, Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11])]));
    fc.assert(
      fc.property(prefixes, fc.uint8Array({ maxLength: 300 }), (prefix, tail) => {
        const bytes = Buffer.concat([prefix, tail]);
        for (let n = 0; n <= bytes.length; n++) answer(bytes.subarray(0, n));
      }),
      { numRuns: RUNS },
    );
  });

  it('reads back what it writes, v1 and v2, IPv4 and IPv6, whole and one byte at a time', () => {
    const connection = fc.oneof(
      fc.record({ family: fc.constant(4 as const), s: ipv4, d: ipv4, sp: port, dp: port }),
      fc.record({ family: fc.constant(6 as const), s: ipv6, d: ipv6, sp: port, dp: port }),
    );
    fc.assert(
      fc.property(connection, fc.constantFrom(1 as const, 2 as const), fc.uint8Array({ maxLength: 20 }), (c, version, after) => {
        const header = encodeProxyHeader(version, { source: { address: c.s, port: c.sp }, destination: { address: c.d, port: c.dp } });
        const bytes = Buffer.concat([header, after]);
        for (let n = 0; n < header.length; n++) expect(answer(bytes.subarray(0, n))).toBe('more');
        const parsed = parseProxyHeader(bytes);
        expect(parsed?.consumed).toBe(header.length);
        const norm = (a: string) => (c.family === 6 ? v6Compact(a) : a);
        expect([parsed?.value.version, parsed?.value.family, parsed?.value.source?.port, parsed?.value.destination?.port]).toEqual([version, c.family, c.sp, c.dp]);
        expect(norm(parsed?.value.source?.address ?? '')).toBe(norm(c.s));
        expect(norm(parsed?.value.destination?.address ?? '')).toBe(norm(c.d));
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses a v1 line of more than 107 bytes before its end arrives', () => {
    expect(answer(Buffer.from(`PROXY TCP4 ${'1'.repeat(96)}`))).toBe('refused');
    expect(answer(Buffer.from(`PROXY TCP4 ${'1'.repeat(95)}`))).toBe('more');
  });
});
