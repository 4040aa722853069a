#!/usr/bin/env node
/**
 * Bundles the compiled command (dist/src/cli.js and everything it imports)
 * into dist/tsocat.cjs, which bin/tsocat.js runs. One CommonJS file: loading
 * ~55 ES modules one by one cost about as much as Node's own start-up, and
 * Node's ES module loader alone adds ~10 ms that `require()` does not.
 *
 * Every module stays wrapped in its own lazy initialiser (esbuild's output for
 * modules reached through `import()`), so an address family, and the
 * built-ins it needs (TLS, UDP, child processes), is initialised only when a
 * command line names it: the plugin folders are listed here, at build time,
 * with the same rule the library uses at run time (src/plugin-folders.ts): each
 * option file and address family gets an `import()`, the families a table of
 * their keywords and features (read from the compiled plugins), so an address
 * without options loads no option rows and a family no other family; the
 * option names and aliases are listed too (-V asks whether one exists). koffi, pino, serialport, ws, selfsigned and what `tsocat serve` uses (yargs, yaml, prom-client) stay outside: they are loaded when needed.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { pluginFiles } = await import(join(DIST, 'src', 'plugin-folders.js'));
const addressFiles = pluginFiles(join(DIST, 'addresses'), 'addresses');

/** Keywords and features of each compiled address family file, in file order. */
async function familyTable() {
  const rows = [];
  for (const file of addressFiles) {
    const path = join(DIST, 'addresses', file);
    const exported = (await import(pathToFileURL(path).href)).default;
    const plugins = Array.isArray(exported) ? exported : [exported];
    const names = plugins.flatMap((p) => p.names);
    const features = [...new Set(plugins.flatMap((p) => p.features))];
    const load = `() => (LOADED.add(${JSON.stringify(file)}), import(${JSON.stringify(path)}))`;
    rows.push(`  { file: ${JSON.stringify(file)}, names: ${JSON.stringify(names)}, features: ${JSON.stringify(features)}, load: ${load} },`);
  }
  return rows.join('\n');
}

/** Every option name and alias (lower case) the compiled option files declare, sorted. */
async function optionNameList(files) {
  for (const file of files) await import(pathToFileURL(join(DIST, 'options', file)).href);
  const { allOptions } = await import(pathToFileURL(join(DIST, 'options', 'catalog.js')).href);
  return allOptions()
    .flatMap((def) => [def.name, ...(def.aliases ?? [])])
    .map((n) => n.toLowerCase())
    .sort();
}

/** Source of the stand-in for src/plugin-folders.js in the bundle. */
async function bundledPluginFolders() {
  const optionFiles = pluginFiles(join(DIST, 'options'), 'options');
  const options = optionFiles.map((file) => `() => import(${JSON.stringify(join(DIST, 'options', file))})`);
  return `const LOADED = new Set();
const OPTIONS = [${options.join(', ')}];
const OPTION_NAMES = ${JSON.stringify(await optionNameList(optionFiles))};
let optionNameSet;
const FAMILIES = [
${await familyTable()}
];
export async function importPluginFolder(folder) {
  return Promise.all(folder === 'options' ? OPTIONS.map((load) => load()) : FAMILIES.map((f) => f.load()));
}
export function addressFamilies() {
  return FAMILIES;
}
export function loadedAddressFiles() {
  return [...LOADED].sort();
}
export function optionNames() {
  optionNameSet ??= new Set(OPTION_NAMES);
  return optionNameSet;
}
`;
}

const standIn = await bundledPluginFolders();
// the ES module bundle of earlier builds
rmSync(join(DIST, 'tsocat.mjs'), { force: true });
await build({
  entryPoints: [join(DIST, 'src', 'cli.js')],
  outfile: join(DIST, 'tsocat.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: true,
  define: { 'import.meta.url': 'import_meta_url' },
  banner: { js: 'const import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
  target: 'node20',
  external: ['koffi', 'pino', 'serialport', 'ws', 'dns-packet', 'selfsigned', 'yargs', 'yaml', 'prom-client'],
  logLevel: 'warning',
  plugins: [
    {
      name: 'bundled-plugin-folders',
      setup(b) {
        b.onLoad({ filter: /[\\/]dist[\\/]src[\\/]plugin-folders\.js$/ }, () => ({ contents: standIn, resolveDir: DIST, loader: 'js' }));
      },
    },
  ],
});

// Node 20 has no compile cache of its own: bin/tsocat.js loads the bundle with a V8 code cache made
// here by one ordinary run (it holds what start-up compiles); Node >= 22.1 uses module.enableCompileCache().
rmSync(join(DIST, 'tsocat.cjs.cache'), { force: true });
if (!createRequire(import.meta.url)('node:module').enableCompileCache) {
  const bin = join(DIST, '..', 'bin', 'tsocat.js');
  const r = spawnSync(process.execPath, [bin, '-u', '/dev/null', '/dev/null'], { env: { ...process.env, TSOCAT_WRITE_CODE_CACHE: '1' }, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`writing the code cache: ${bin} exited with ${r.status ?? r.signal}`);
}
