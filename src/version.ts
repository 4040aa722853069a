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
