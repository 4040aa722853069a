/**
 * Loads every option file in this folder so the catalog is complete. Like the
 * address registry, a new file here needs no other change.
 */
import { importPluginFolder, optionNames } from '../src/plugin-folders.js';
import { findOption } from './catalog.js';

let loaded: Promise<void> | undefined;

export function loadCatalog(): Promise<void> {
  loaded ??= importPluginFolder('options', import.meta.url).then(() => undefined);
  return loaded;
}

/** Whether the catalog has an option of this name or alias, loading the option files only where no build-time list says. */
export async function optionExists(name: string): Promise<boolean> {
  const names = optionNames();
  if (names) return names.has(name.toLowerCase());
  await loadCatalog();
  return findOption(name) !== undefined;
}
