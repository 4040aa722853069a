import { readFileSync } from 'node:fs';

/** The package version, read once from package.json next to the build. */
export const VERSION: string = (() => {
  for (const rel of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // try the next layout (source, dist, the bundle's chunks)
    }
  }
  return '0.0.0';
})();

/** The socat release whose command lines and behaviour tsocat follows (its test.sh reads this from -V's second line). */
export const SOCAT_RELEASE = '1.8.1.1';
