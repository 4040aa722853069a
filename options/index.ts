/**
 * Loads every option file in this folder so the catalog is complete. Like the
 * address registry, a new file here needs no other change.
 */
import { importPluginFolder } from '../src/plugin-folders.js';

let loaded: Promise<void> | undefined;

export function loadCatalog(): Promise<void> {
  loaded ??= importPluginFolder('options', import.meta.url).then(() => undefined);
  return loaded;
}
