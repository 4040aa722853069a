/**
 * socat's token scanner: reads until an unescaped, unquoted, unnested end
 * pattern. Hard quotes ('…') protect everything; soft quotes ("…") still allow
 * escapes and nesting; brackets nest and are kept in the token.
 */
import { TsocatError } from '../errors.js';

export interface LexRules {
  ends: readonly string[];
  hardQuotes: readonly string[];
  softQuotes: readonly string[];
  /** Opening and closing pattern pairs. */
  nests: ReadonlyArray<readonly [string, string]>;
}

export interface LexResult {
  token: string;
  /** Index of the first character not consumed (an end pattern or input end). */
  end: number;
}

/**
 * How deep brackets and soft quotes may nest in one token. Each level is one
 * call of lex(), so the bound keeps a pathological address (thousands of `[`)
 * a parse error instead of a JavaScript stack overflow. socat allows no deeper
 * in practice: its token buffer is full long before.
 */
export const MAX_NESTING = 256;

const C_ESCAPES: Record<string, string> = { '0': '\0', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function startsWithAny(input: string, pos: number, patterns: readonly string[]): string | undefined {
  for (const p of patterns) if (input.startsWith(p, pos)) return p;
  return undefined;
}

/**
 * Scans `input` from `pos`. `dropQuotes` removes the outermost quote characters
 * (socat drops them only at the top level; nested quotes stay literal).
 */
export function lex(input: string, pos: number, rules: LexRules, dropQuotes = true, where = input, depth = 0): LexResult {
  if (depth > MAX_NESTING) throw new TsocatError(`address "${where}" too long: nested more than ${MAX_NESTING} deep`, 'ESYNTAX');
  let out = '';
  let i = pos;
  while (i < input.length) {
    if (startsWithAny(input, i, rules.ends) !== undefined) break;

    const hard = startsWithAny(input, i, rules.hardQuotes);
    if (hard !== undefined) {
      const close = input.indexOf(hard, i + hard.length);
      if (close < 0) throw new TsocatError(`unexpected end of address "${where}"`, 'ESYNTAX');
      out += dropQuotes ? input.slice(i + hard.length, close) : input.slice(i, close + hard.length);
      i = close + hard.length;
      continue;
    }

    const soft = startsWithAny(input, i, rules.softQuotes);
    if (soft !== undefined) {
      const inner = lex(input, i + soft.length, { ...rules, ends: [soft] }, false, where, depth + 1);
      if (!input.startsWith(soft, inner.end)) throw new TsocatError(`unexpected end of address "${where}"`, 'ESYNTAX');
      out += dropQuotes ? inner.token : soft + inner.token + soft;
      i = inner.end + soft.length;
      continue;
    }

    const nest = rules.nests.find(([open]) => input.startsWith(open, i));
    if (nest) {
      const [open, close] = nest;
      const inner = lex(input, i + open.length, { ...rules, ends: [close] }, false, where, depth + 1);
      out += open + inner.token;
      i = inner.end;
      // socat tolerates an unclosed bracket: it simply runs to the end of the address.
      if (input.startsWith(close, i)) {
        out += close;
        i += close.length;
      }
      continue;
    }

    const c = input[i++] as string;
    if (c === '\\') {
      if (i >= input.length) break; // a trailing backslash is dropped, as socat does
      const e = input[i++] as string;
      out += C_ESCAPES[e] ?? e;
      continue;
    }
    out += c;
  }
  return { token: out, end: i };
}
