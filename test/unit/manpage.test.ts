/**
 * man/tsocat.1 is generated from the registry, the catalog, docs/differences.md
 * and the README (src/docs/manpage.ts); it must match them, name every keyword
 * and option, and render without a warning.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allPlugins } from '../../addresses/index.js';
import { allOptions } from '../../options/catalog.js';
import { loadCatalog } from '../../options/index.js';
import { manPage, roff } from '../../src/docs/manpage.js';
import { ROOT, STRICT, skipBecause } from '../helpers.js';

const PAGE = join(ROOT, 'man', 'tsocat.1');
const page = () => readFileSync(PAGE, 'utf8');

function haveCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

describe('man/tsocat.1', () => {
  it('matches the registry, the catalog, docs/differences.md and the README (run `npm run docs` after changing them)', async () => {
    expect(page()).toBe(await manPage(pathToFileURL(`${ROOT}/`)));
  });

  it('is the page package.json installs (npm link / npm install -g put it where man finds it)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.man).toEqual(['./man/tsocat.1']);
    expect(pkg.files).toContain('man');
    expect(existsSync(PAGE)).toBe(true);
  });

  it('has the sections a reader looks for, every address keyword and every option with its aliases', async () => {
    await loadCatalog();
    const text = page();
    for (const title of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'ADDRESSES', 'ADDRESS OPTIONS', 'SIGNALS', 'DIFFERENCES FROM SOCAT', 'EXAMPLES', 'SEE ALSO']) {
      expect(text).toContain(`\n.SH ${title}\n`);
    }
    for (const p of await allPlugins()) for (const name of p.names) expect(text, name).toContain(`\\fB${roff(name)}`);
    for (const def of allOptions()) for (const name of [def.name, ...(def.aliases ?? [])]) expect(text, name).toContain(`\\fB${roff(name)}`);
    expect(text).toContain('.B SIGUSR1');
    // a group heading per option group the catalog uses
    for (const group of new Set(allOptions().map((d) => d.groups[0]))) expect(text).toMatch(new RegExp(`^\\.SS ${group}: `, 'm'));
  });

  it('renders without a warning (groff -ww; and man -l where man-db is installed)', (ctx) => {
    if (!haveCommand('groff')) {
      if (STRICT) throw new Error('CI must run this test, but groff (groff-base) is not on PATH');
      skipBecause(ctx, 'groff is not on PATH (groff-base renders man pages)');
    }
    const groff = spawnSync('groff', ['-ww', '-man', '-Tutf8', PAGE], { encoding: 'utf8', timeout: 20000 });
    expect(groff.stderr).toBe('');
    expect(groff.status).toBe(0);
    // bold and underline come as overstrikes (x BS x): the plain text is what is left without them
    expect(groff.stdout.replace(/.\x08/g, '')).toContain('DIFFERENCES FROM SOCAT');
    if (haveCommand('man')) {
      const man = spawnSync('man', ['-l', PAGE], { encoding: 'utf8', timeout: 20000, env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' } });
      expect(man.stderr).toBe('');
      expect(man.stdout).toMatch(/^TSOCAT\(1\) +User Commands +TSOCAT\(1\)/);
    } else console.warn('man -l not checked: man (man-db) is not on PATH');
  });
});
