/**
 * The address registry. Every file in this folder (but this one) is a plugin
 * module whose default export is one AddressPlugin or an array of them; adding
 * a family means adding a file, nothing else.
 */
import type { AddressPlugin } from '../src/define.js';
import { type AddressFamily, addressFamilies, importPluginFolder } from '../src/plugin-folders.js';
import { parseAddress } from '../src/grammar/parse.js';
import type { AddressSpec } from '../src/grammar/spec.js';

let loaded: Promise<Map<string, AddressPlugin>> | undefined;

/** Maps each upper-case keyword of the modules' plugins to its plugin. */
function keywordMap(modules: readonly unknown[]): Map<string, AddressPlugin> {
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
}

/** Loads every plugin once and maps each upper-case keyword to its plugin. */
export function loadRegistry(): Promise<Map<string, AddressPlugin>> {
  loaded ??= importPluginFolder('addresses', import.meta.url).then(keywordMap);
  return loaded;
}

/** The address types a spec names (both halves of a dual address). */
function typesOf(spec: AddressSpec): string[] {
  return spec.kind === 'single' ? [spec.type] : [spec.read.type, spec.write.type];
}

/**
 * The family that resolves `type` the way the engine's lookup does (its own
 * keyword, else a lone digit is FD and a path GOPEN); undefined when only
 * the whole registry can answer (an unknown or refused keyword).
 */
function familyFor(families: readonly AddressFamily[], type: string): AddressFamily | undefined {
  const named = (keyword: string) => families.find((f) => f.names.includes(keyword));
  return named(type.toUpperCase()) ?? (/^[0-9]$/.test(type) ? named('FD') : type.includes('/') ? named('GOPEN') : undefined);
}

/**
 * A registry for one command line: in the bundled command only the families
 * its addresses name are loaded; where that cannot be told (no build-time
 * table, an address that does not parse, a keyword no family names) every
 * family is, so lookups and their errors are the same as with the full one.
 */
export async function loadRegistryFor(addresses: readonly (string | AddressSpec)[]): Promise<Map<string, AddressPlugin>> {
  const families = addressFamilies(import.meta.url);
  if (!families) return loadRegistry();
  const needed = new Set<AddressFamily>();
  try {
    for (const address of addresses) {
      for (const type of typesOf(typeof address === 'string' ? parseAddress(address) : address)) {
        const family = familyFor(families, type);
        if (!family) return loadRegistry();
        needed.add(family);
      }
    }
  } catch {
    // the relay reports the syntax error itself
    return loadRegistry();
  }
  return keywordMap(await Promise.all([...needed].map((f) => f.load())));
}

/** socat's feature names the address families provide, for `-V` (from the build-time table when there is one). */
export async function addressFeatures(): Promise<Set<string>> {
  const families = addressFamilies(import.meta.url);
  if (families) return new Set(families.flatMap((f) => f.features));
  return new Set((await allPlugins()).flatMap((p) => p.features));
}

/** Each plugin once, in keyword order. */
export async function allPlugins(): Promise<AddressPlugin[]> {
  const map = await loadRegistry();
  return [...new Set(map.values())].sort((a, b) => (a.names[0] as string).localeCompare(b.names[0] as string));
}
