/**
 * Loads every option file in this folder so the catalog is complete. Like the
 * address registry, a new file here needs no other change.
 */
import { readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ownExt = extname(fileURLToPath(import.meta.url));
let loaded: Promise<void> | undefined;

export function loadCatalog(): Promise<void> {
  loaded ??= (async () => {
    const files = readdirSync(here)
      .filter((f) => extname(f) === ownExt && !f.endsWith('.d.ts') && !['index', 'catalog'].includes(f.slice(0, -ownExt.length)))
      .sort();
    await Promise.all(files.map((f) => import(pathToFileURL(join(here, f)).href)));
  })();
  return loaded;
}
