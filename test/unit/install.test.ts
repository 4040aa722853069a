/**
 * A clean `npm install` prints no warning (issue 23): every dependency with an
 * install script is named in allowScripts (npm 11 warns about, and skips, any
 * other), and the esbuild the build uses is one vite accepts as its peer (npm
 * warns ERESOLVE otherwise). Read from package.json and package-lock.json, the
 * files `npm ci` installs from.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

interface LockEntry {
  version: string;
  hasInstallScript?: boolean;
  peerDependencies?: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean>; devDependencies: Record<string, string> };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

/** The package name of a lock key (`node_modules/a/node_modules/@s/b` is `@s/b`). */
const nameOf = (key: string) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);

/** `version` within `^0.M.p` or `^X.y.z` (the only forms vite's esbuild range uses), one of `||` alternatives. */
function satisfiesCaret(version: string, range: string): boolean {
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  return range.split('||').some((alt) => {
    const m = alt.trim().match(/^\^(\d+)\.(\d+)\.(\d+)$/);
    if (!m) throw new Error(`a range this test does not read: ${alt}`);
    const [want, wantMinor, wantPatch] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (want === 0) return major === 0 && minor === wantMinor && patch >= wantPatch;
    return major === want && (minor > wantMinor || (minor === wantMinor && patch >= wantPatch));
  });
}

describe('a quiet install', () => {
  it('allowScripts names every installed package that has an install script, and nothing else', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([key, entry]) => key !== '' && entry.hasInstallScript)
      .map(([key]) => nameOf(key));
    expect(withScripts.length).toBeGreaterThan(0);
    expect(Object.keys(pkg.allowScripts ?? {}).sort()).toEqual([...new Set(withScripts)].sort());
    expect(Object.values(pkg.allowScripts ?? {}).every((v) => v === true)).toBe(true);
  });

  it("there is one esbuild, and it is in vite's peer range", () => {
    const esbuilds = Object.entries(lock.packages).filter(([key]) => nameOf(key) === 'esbuild');
    expect(esbuilds.map(([key]) => key)).toEqual(['node_modules/esbuild']);
    const vite = lock.packages['node_modules/vite'];
    const range = vite?.peerDependencies?.esbuild;
    expect(range).toBeDefined();
    expect(satisfiesCaret(esbuilds[0]?.[1].version as string, range as string)).toBe(true);
    expect(satisfiesCaret('0.25.12', range as string)).toBe(false);
  });
});
