/**
 * The two folders whose every file is a plugin: addresses/ (one file per
 * address family) and options/ (one file per option group). Adding a file
 * there is all it takes; nothing lists them by hand.
 *
 * The compiled library finds the files by listing the folder. The bundled
 * command (scripts/bundle.mjs) replaces this module with tables made from the
 * same listing at build time: the option files imported statically, and each
 * address family as its own chunk, loaded only when a command line names it
 * (`addressFamilies()`), so `tsocat - -` never loads TLS, PTY or UDP code.
 */
import { readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type PluginFolder = 'addresses' | 'options';

/** What the registry knows of one address family file before loading it. */
export interface AddressFamily {
  /** Its compiled file's name (`tcp.js`). */
  file: string;
  /** Upper-case keywords its plugins answer to (names and aliases). */
  names: readonly string[];
  /** socat's feature names its plugins provide (`-V`). */
  features: readonly string[];
  load(): Promise<unknown>;
}

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
  const files = pluginFiles(dir, folder, extname(indexPath));
  if (folder === 'addresses') for (const f of files) loadedFamilies.add(f);
  return Promise.all(files.map((f) => import(pathToFileURL(join(dir, f)).href)));
}

const loadedFamilies = new Set<string>();

/** The address family files loaded so far (TSOCAT_DEBUG_MODULES, and the test that a TCP relay loads no TLS or UDP code). */
export function loadedAddressFiles(): string[] {
  return [...loadedFamilies].sort();
}

/**
 * The address families by file, known without loading them: only in the
 * bundled command, whose build writes the table. The library answers
 * undefined (it learns a family's keywords by loading it).
 */
export function addressFamilies(_indexUrl: string): readonly AddressFamily[] | undefined {
  return undefined;
}

/**
 * Every option name and alias (lower case), known without loading the option
 * files: only in the bundled command, whose build writes the list (`-V` asks
 * whether an option exists). The library answers undefined.
 */
export function optionNames(): ReadonlySet<string> | undefined {
  return undefined;
}
