/**
 * The two folders whose every file is a plugin: addresses/ (one file per
 * address family) and options/ (one file per option group). Adding a file
 * there is all it takes; nothing lists them by hand.
 *
 * The compiled library finds the files by listing the folder. The bundled
 * command (scripts/bundle.mjs) replaces this module with a table of static
 * imports made from the same listing, so start-up reads one file, not fifty.
 */
import { readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type PluginFolder = 'addresses' | 'options';

/** Files of a plugin folder that are its machinery, not plugins. */
const NOT_PLUGINS: Record<PluginFolder, string[]> = {
  addresses: ['index'],
  options: ['index', 'catalog'],
};

/** The plugin files in `dir` (the compiled folder), sorted so the load order never depends on the file system. */
export function pluginFiles(dir: string, folder: PluginFolder, ext = '.js'): string[] {
  return readdirSync(dir)
    .filter((f) => extname(f) === ext && !f.endsWith('.d.ts') && !NOT_PLUGINS[folder].includes(f.slice(0, -ext.length)))
    .sort();
}

/** Imports every plugin module of the folder that holds `indexUrl` (the folder's own index module). */
export async function importPluginFolder(folder: PluginFolder, indexUrl: string): Promise<unknown[]> {
  const indexPath = fileURLToPath(indexUrl);
  const dir = dirname(indexPath);
  return Promise.all(pluginFiles(dir, folder, extname(indexPath)).map((f) => import(pathToFileURL(join(dir, f)).href)));
}
