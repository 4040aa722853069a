/** The broker's chat framing (src/engine/relay/broker/chat.ts): whole lines, prefixed, part lines held to a bound. */
import { describe, expect, it } from 'vitest';
import { chatLines, type LineSender } from '../../src/engine/relay/broker/chat.js';

const text = (b: Buffer | undefined) => b?.toString() ?? '';

describe('chatLines', () => {
  it('prefixes each whole line and holds a part line until its newline', () => {
    const user: LineSender = { name: 'user3' };
    expect(text(chatLines(user, Buffer.from('one\ntw'), 100))).toBe('<user3> one\n');
    expect(user.partial?.toString()).toBe('tw');
    expect(chatLines(user, Buffer.from('o'), 100)).toBeUndefined();
    expect(text(chatLines(user, Buffer.from('\nthree\n'), 100))).toBe('<user3> two\n<user3> three\n');
    expect(user.partial).toBeUndefined();
  });

  it('sends a part line longer than the bound as it is, so one sender cannot grow tsocat without end', () => {
    const user: LineSender = { name: 'user1' };
    expect(chatLines(user, Buffer.from('abcd'), 5)).toBeUndefined();
    expect(text(chatLines(user, Buffer.from('efgh'), 5))).toBe('<user1> abcdefgh\n');
    expect(user.partial).toBeUndefined();
  });

  it('keeps what it holds when the chunk it came in is reused', () => {
    const user: LineSender = { name: 'user2' };
    const chunk = Buffer.from('held');
    chatLines(user, chunk, 100);
    chunk.fill(0x78);
    expect(text(chatLines(user, Buffer.from('\n'), 100))).toBe('<user2> held\n');
  });
});
