/**
 * Finds parameterised tests (`it.each(table)(name, fn)`, `test.each`,
 * `describe.each`…) whose callback skips through a test context. vitest's
 * `.each` spreads the row into the callback's arguments and passes no
 * context, so `skipBecause(ctx, …)` there throws a TypeError instead of
 * skipping (found on a machine without the socat 1.8 build). `.for` passes
 * the context as the second argument and is the form to use.
 */

/** The source with the insides of strings and comments blanked (lines kept), so brackets and calls in them don't count. */
function codeOnly(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    let end = -1;
    if (c === "'" || c === '"' || c === '`') {
      for (end = i + 1; end < text.length && text[end] !== c; end++) if (text[end] === '\\') end++;
      out += c + blank(text.slice(i + 1, end)) + (end < text.length ? c : '');
    } else if (c === '/' && text[i + 1] === '/') {
      end = text.indexOf('\n', i);
      if (end < 0) end = text.length;
      out += blank(text.slice(i, end));
      end--;
    } else if (c === '/' && text[i + 1] === '*') {
      end = text.indexOf('*/', i + 2);
      end = end < 0 ? text.length : end + 1;
      out += blank(text.slice(i, end + 1));
    } else {
      out += c;
      continue;
    }
    i = end;
  }
  return out;
}

const blank = (s: string) => s.replace(/[^\n]/g, ' ');

/** Index just past the bracket group that opens at `open` in code with strings blanked. */
function skipGroup(code: string, open: number): number {
  const pairs: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
  const stack: string[] = [];
  for (let i = open; i < code.length; i++) {
    const c = code[i];
    if (pairs[c]) stack.push(pairs[c]);
    else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return i + 1;
    }
  }
  return code.length;
}

const SKIPS_THROUGH_CONTEXT = /\b(?:skipBecause|requireOrSkip)\(|\.skip\(/;

/** Line numbers (1-based) of `.each(…)(…)` calls whose callback skips through a context. */
export function eachCallsSkippingThroughContext(source: string): number[] {
  const code = codeOnly(source);
  const lines: number[] = [];
  for (const match of code.matchAll(/\b(?:it|test|describe)(?:\.\w+)*\.each\s*\(/g)) {
    const afterTable = skipGroup(code, match.index + match[0].length - 1);
    const call = /^\s*\(/.exec(code.slice(afterTable));
    if (!call) continue;
    const start = afterTable + call[0].length - 1;
    const body = code.slice(start, skipGroup(code, start));
    if (SKIPS_THROUGH_CONTEXT.test(body)) lines.push(code.slice(0, match.index).split('\n').length);
  }
  return lines;
}
