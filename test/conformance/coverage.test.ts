/**
 * A new address family must come with its conformance case: every plugin in
 * the registry is named in this folder's tests (an address opened through
 * testEndpoint(), or a command line for the families checked through the
 * command because they are tsocat's own stdin/stdout).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allOptions } from '../../options/catalog.js';
import { loadCatalog } from '../../options/index.js';
import { allPlugins } from '../../src/index.js';
import { ROOT, tsocat } from '../helpers.js';

const HERE = join(ROOT, 'test', 'conformance');

/** Every string literal in this folder's test files: case names, titles, addresses, keyword lists. */
function caseNames(): string[] {
  const names: string[] = [];
  for (const file of readdirSync(HERE).filter((f) => f.endsWith('.test.ts') && f !== 'coverage.test.ts')) {
    const text = readFileSync(join(HERE, file), 'utf8');
    for (const m of text.matchAll(/[`'"]([^`'"\n]+)[`'"]/g)) names.push(m[1] as string);
  }
  return names;
}

describe('conformance coverage', () => {
  it('every address plugin is named by a conformance case', async () => {
    const names = caseNames();
    const uncovered = (await allPlugins())
      .filter((plugin) => !plugin.names.some((keyword) => names.some((n) => new RegExp(`(^|[^A-Z-])${keyword}([^A-Z-]|$)`).test(n))))
      .map((plugin) => plugin.names[0]);
    expect(uncovered).toEqual([]);
  });
});

describe('the bundled command (bin/tsocat.js runs dist/tsocat.mjs)', () => {
  it('knows every address keyword and option the library has: the build-time plugin table left none out', async () => {
    const help = (await tsocat(['-hhh'])).stdout.toString();
    const listed = new Set(help.split('\n').map((line) => line.trim().split(/[\s:[]/)[0]));
    const keywords = (await allPlugins()).flatMap((p) => p.names).filter((n) => n !== '-');
    await loadCatalog();
    const options = allOptions().flatMap((o) => [o.name, ...(o.aliases ?? [])]);
    expect([...keywords, ...options].filter((name) => !listed.has(name))).toEqual([]);
  });
});
