/**
 * Every byte a proxy or SOCKS server sends is hostile. For 10,000 random and
 * truncated replies each, the reply handling (parser plus the reader that
 * feeds it, over a stream that then ends) must settle: a value or one
 * TsocatError, never another exception, never a wait that does not end; and
 * which of the two is the one the reply deserves (a tunnel only on success).
 */
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HandshakeReader, type ReplyParser } from '../../src/engine/handshakes/handshake-reader.js';
import { proxyAnswerParser } from '../../src/engine/handshakes/proxy-protocol.js';
import { socks4ReplyParser, socks5AuthParser, socks5MethodParser, socks5ReplyParser } from '../../src/engine/handshakes/socks-protocol.js';
import { TsocatError } from '../../src/errors.js';

const RUNS = 10_000;

/** Feeds `bytes` in `cuts` pieces to a reader over a stream that then ends; resolves with how it settled. */
async function settle<T>(parser: ReplyParser<T>, bytes: Uint8Array, cuts: number[]): Promise<'value' | 'error'> {
  return (await settleWith(parser, bytes, cuts)).how;
}

/** settle(), also handing back the value a reply settled with. */
async function settleWith<T>(parser: ReplyParser<T>, bytes: Uint8Array, cuts: number[]): Promise<{ how: 'value'; value: T } | { how: 'error' }> {
  const stream = new PassThrough();
  const reader = new HandshakeReader(stream as unknown as Socket, 'peer');
  const pending = reader.read('reply', parser);
  let at = 0;
  for (const cut of [...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
    if (cut > at) stream.write(Buffer.from(bytes.subarray(at, cut)));
    at = Math.max(at, cut);
  }
  stream.end();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('reply handling did not settle')), 10_000);
  });
  try {
    const value = await Promise.race([pending, hang]);
    return { how: 'value', value };
  } catch (err) {
    if (!(err instanceof TsocatError)) throw err;
    expect(err.message).not.toMatch(/\n/);
    return { how: 'error' };
  } finally {
    clearTimeout(timer);
    reader.finish();
  }
}

/** Random bytes, or a well-formed reply cut short or with bytes flipped. */
const hostile = (valid: Uint8Array[]) =>
  fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([v, n]) => v.subarray(0, n % (v.length + 1))),
    fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([v, i, b]) => {
      const copy = Uint8Array.from(v);
      if (copy.length) copy[i % copy.length] = b;
      return copy;
    }),
    fc.tuple(fc.constantFrom(...valid), fc.uint8Array({ maxLength: 300 })).map(([v, extra]) => Uint8Array.from([...v, ...extra])),
  );

const cuts = fc.array(fc.nat(), { maxLength: 6 });
const text = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('PROXY: the CONNECT answer', () => {
  const valid = [
    text('HTTP/1.0 200 Connection established\r\n\r\n'),
    text('HTTP/1.1 200 OK\r\nProxy-Agent: x\r\nVia: 1.1 y\r\n\r\n'),
    text('HTTP/1.0 403 Forbidden\r\nContent-Length: 0\r\n\r\n'),
    text('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="p"\r\n\r\n'),
    text(`HTTP/1.0 200 OK\r\nX-Long: ${'a'.repeat(9000)}\r\n\r\n`),
    text('HTTP/1.1 302 Found\r\nLocation: http://elsewhere/\r\n\r\nbody of the redirect'),
    text('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n'),
    text('HTTP/1.1 204 No Content\r\n\r\n'),
  ];
  /** socat's rule: the tunnel is up only on a status line "HTTP/1.0 200" or "HTTP/1.1 200". */
  const OPENS = /^HTTP\/1\.[01] +200(?: |$)/;
  it('whole answers: 200 opens the tunnel; 302, 100 Continue (even before a 200), 204, 403 and 407 are refused', async () => {
    for (const bytes of valid) {
      const statusLine = Buffer.from(bytes).toString('latin1').split('\r\n')[0] as string;
      const settled = await settleWith(proxyAnswerParser('CONNECT h:1 HTTP/1.0', false), bytes, []);
      expect(settled.how, statusLine).toBe(OPENS.test(statusLine) ? 'value' : 'error');
    }
  });
  it(`${RUNS} random and truncated answers, CRLF and ignorecr: a value or one TsocatError, always settled`, async () => {
    await fc.assert(
      fc.asyncProperty(hostile(valid), cuts, fc.boolean(), async (bytes, at, ignoreCr) => {
        const settled = await settleWith(proxyAnswerParser('CONNECT h:1 HTTP/1.0', ignoreCr), bytes, at);
        // whatever the bytes, a tunnel opens only on a 200 status line, and that line is what the value carries
        if (settled.how === 'value') expect(settled.value.statusLine).toMatch(OPENS);
      }),
      { numRuns: RUNS },
    );
    // 10,000 runs take a few seconds; a machine busy with other work may need far longer
  }, 240_000);
});

describe('SOCKS: server hello, authentication result and replies', () => {
  const replies = [
    Uint8Array.from([0, 90, 0, 80, 127, 0, 0, 1]),
    Uint8Array.from([0, 91, 0, 0, 0, 0, 0, 0]),
    Uint8Array.from([5, 0]),
    Uint8Array.from([5, 2]),
    Uint8Array.from([1, 0]),
    Uint8Array.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 80]),
    Uint8Array.from([5, 0, 0, 3, 9, ...Buffer.from('localhost'), 0, 80]),
    Uint8Array.from([5, 0, 0, 4, ...new Array(15).fill(0), 1, 0, 80]),
    Uint8Array.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]),
  ];
  /**
   * Each step's parser, and the outcome a reply deserves, stated apart from the parser: a whole
   * success reply (any bytes after it are the tunnel's) settles with a value, anything else with an error.
   */
  const steps: Array<{ name: string; parser: () => ReplyParser<unknown>; succeeds: (b: Uint8Array) => boolean }> = [
    // SOCKS4: 8 bytes, code 90 granted; a version byte other than 0 is only warned about, as socat does
    { name: 'SOCKS4 reply', parser: () => socks4ReplyParser(() => {}), succeeds: (b) => b.length >= 8 && b[1] === 90 },
    // SOCKS5 hello: version 5 and one of the methods offered (none, user/password)
    { name: 'SOCKS5 method', parser: () => socks5MethodParser([0, 2]), succeeds: (b) => b.length >= 2 && b[0] === 5 && (b[1] === 0 || b[1] === 2) },
    // RFC 1929: status 0 is success
    { name: 'SOCKS5 authentication', parser: () => socks5AuthParser('user'), succeeds: (b) => b.length >= 2 && b[1] === 0 },
    // SOCKS5 reply: version 5, code 0, then an IPv4 (4), IPv6 (16) or name (length byte, name) address and a port, all there
    {
      name: 'SOCKS5 reply',
      parser: () => socks5ReplyParser(),
      succeeds: (b) => {
        if (b.length < 4 || b[0] !== 5 || b[1] !== 0) return false;
        const length = b[3] === 1 ? 4 + 4 : b[3] === 4 ? 4 + 16 : b[3] === 3 && b.length >= 5 ? 5 + (b[4] as number) : undefined;
        return length !== undefined && b.length >= length + 2;
      },
    },
  ];
  it('whole replies: each settles as it deserves at each step (granted: a value; refused, a wrong version or method: an error)', async () => {
    for (const step of steps) {
      for (const bytes of replies) {
        const how = await settle(step.parser(), bytes, []);
        expect(how, `${step.name} [${[...bytes].join(',')}]`).toBe(step.succeeds(bytes) ? 'value' : 'error');
      }
    }
  });
  it(`${RUNS} random and truncated replies to each step: a value exactly when the reply is a whole success reply, else one TsocatError, always settled`, async () => {
    await fc.assert(
      fc.asyncProperty(hostile(replies), cuts, fc.nat({ max: steps.length - 1 }), async (bytes, at, which) => {
        const step = steps[which] as (typeof steps)[number];
        const how = await settle(step.parser(), bytes, at);
        expect(how, `${step.name} [${[...bytes].join(',')}]`).toBe(step.succeeds(bytes) ? 'value' : 'error');
      }),
      { numRuns: RUNS },
    );
    // 10,000 runs take a few seconds; a machine busy with other work may need far longer
  }, 240_000);
});
