/**
 * The address registry. Every file in this folder (but this one) is a plugin
 * module whose default export is one AddressPlugin or an array of them; adding
 * a family means adding a file, nothing else.
 */
import { readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AddressPlugin } from '../src/define.js';

const here = dirname(fileURLToPath(import.meta.url));
const ownExt = extname(fileURLToPath(import.meta.url));

let loaded: Promise<Map<string, AddressPlugin>> | undefined;

/** Loads every plugin once and maps each upper-case keyword to its plugin. */
export function loadRegistry(): Promise<Map<string, AddressPlugin>> {
  loaded ??= (async () => {
    const files = readdirSync(here)
      .filter((f) => extname(f) === ownExt && !f.endsWith('.d.ts') && !f.startsWith('index.'))
      .sort();
    const modules = await Promise.all(files.map((f) => import(pathToFileURL(join(here, f)).href)));
    const map = new Map<string, AddressPlugin>();
    for (const mod of modules) {
      const exported = (mod as { default: AddressPlugin | AddressPlugin[] }).default;
      for (const plugin of Array.isArray(exported) ? exported : [exported]) {
        for (const name of plugin.names) {
          if (map.has(name)) throw new Error(`address keyword ${name} registered twice`);
          map.set(name, plugin);
        }
      }
    }
    return map;
  })();
  return loaded;
}

/** Each plugin once, in keyword order. */
export async function allPlugins(): Promise<AddressPlugin[]> {
  const map = await loadRegistry();
  return [...new Set(map.values())].sort((a, b) => (a.names[0] as string).localeCompare(b.names[0] as string));
}
