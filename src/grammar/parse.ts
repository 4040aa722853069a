/**
 * Address strings → AddressSpec. Pure syntax: which keyword means what is the
 * registry's business (addresses/index.ts).
 */
import { TsocatError } from '../errors.js';
import { type LexRules, lex } from './lexer.js';
import type { AddressSpec, OptionSpec, SingleAddressSpec } from './spec.js';

export const DUAL_SEPARATOR = '!!';

const BRACKETS = [
  ['(', ')'],
  ['[', ']'],
  ['{', '}'],
] as const;

/** Keyword and positional parameters end at `:`, `,` or `!!`. */
const PARAM_RULES: LexRules = {
  ends: [DUAL_SEPARATOR, ',', ':'],
  hardQuotes: ["'"],
  softQuotes: ['"'],
  nests: [["'", "'"], ...BRACKETS],
};
/** An option name ends at `=`, `,` or `!!`; its value at `,` or `!!` (so values may hold `:`). */
const OPTION_NAME_RULES: LexRules = { ends: [DUAL_SEPARATOR, ',', '='], hardQuotes: ["'"], softQuotes: ['"'], nests: BRACKETS };
const OPTION_VALUE_RULES: LexRules = { ...OPTION_NAME_RULES, ends: [DUAL_SEPARATOR, ','] };

function parseSingle(input: string, start: number): { spec: SingleAddressSpec; end: number } {
  const keyword = lex(input, start, PARAM_RULES, true, input.slice(start));
  let i = keyword.end;
  const params: string[] = [];
  while (input.startsWith(':', i)) {
    const p = lex(input, i + 1, PARAM_RULES, true, input);
    params.push(p.token);
    i = p.end;
  }
  const options: OptionSpec[] = [];
  for (;;) {
    while (input.startsWith(',', i)) i++;
    const name = lex(input, i, OPTION_NAME_RULES, true, input);
    if (name.token === '') {
      i = name.end;
      break;
    }
    i = name.end;
    if (input.startsWith('=', i)) {
      const value = lex(input, i + 1, OPTION_VALUE_RULES, true, input);
      options.push({ name: name.token, value: value.token });
      i = value.end;
    } else {
      options.push({ name: name.token });
    }
  }
  if (keyword.token === '') throw new TsocatError(`unknown device/address "${input.slice(start, i)}"`, 'ENOADDR');
  return { spec: { kind: 'single', type: keyword.token, params, options, text: input.slice(start, i) }, end: i };
}

/** Parses one command-line address, single or `read!!write`. */
export function parseAddress(input: string): AddressSpec {
  const first = parseSingle(input, 0);
  let i = first.end;
  if (input.startsWith(DUAL_SEPARATOR, i)) {
    const second = parseSingle(input, i + DUAL_SEPARATOR.length);
    i = second.end;
    if (i < input.length) throw trailing(input, i);
    return { kind: 'dual', read: first.spec, write: second.spec, text: input };
  }
  if (i < input.length) throw trailing(input, i);
  return first.spec;
}

function trailing(input: string, at: number): TsocatError {
  return new TsocatError(`syntax error in address "${input}" at "${input.slice(at)}"`, 'ESYNTAX');
}
