/**
 * The address registry. Every file in this folder (but this one) is a plugin
 * module whose default export is one AddressPlugin or an array of them; adding
 * a family means adding a file, nothing else.
 */
import type { AddressPlugin } from '../src/define.js';
import { importPluginFolder } from '../src/plugin-folders.js';

let loaded: Promise<Map<string, AddressPlugin>> | undefined;

/** Loads every plugin once and maps each upper-case keyword to its plugin. */
export function loadRegistry(): Promise<Map<string, AddressPlugin>> {
  loaded ??= (async () => {
    const modules = await importPluginFolder('addresses', import.meta.url);
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
