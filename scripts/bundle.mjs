#!/usr/bin/env node
/**
 * Bundles the compiled command (dist/src/cli.js and everything it imports)
 * into dist/tsocat.mjs, which bin/tsocat.js runs. Loading ~55 ES modules one
 * by one costs about as much as Node's own start-up; one file halves what
 * tsocat adds to it. The library (dist/src/index.js) stays unbundled.
 *
 * The plugin folders are listed here, at build time, with the same rule the
 * library uses at run time (src/plugin-folders.ts), and become static imports.
 * koffi and pino stay outside: they are loaded with require() when needed.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { pluginFiles } = await import(join(DIST, 'src', 'plugin-folders.js'));

/** Source of a stand-in for src/plugin-folders.js: every plugin module imported statically. */
function staticPluginFolders() {
  const imports = [];
  const table = [];
  for (const folder of ['addresses', 'options']) {
    const names = pluginFiles(join(DIST, folder), folder).map((file, i) => {
      imports.push(`import * as ${folder}${i} from ${JSON.stringify(join(DIST, folder, file))};`);
      return `${folder}${i}`;
    });
    table.push(`${folder}: [${names.join(', ')}]`);
  }
  return `${imports.join('\n')}\nconst TABLE = { ${table.join(', ')} };\nexport async function importPluginFolder(folder) { return TABLE[folder]; }\n`;
}

await build({
  entryPoints: [join(DIST, 'src', 'cli.js')],
  outfile: join(DIST, 'tsocat.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['koffi', 'pino', 'serialport'],
  logLevel: 'warning',
  plugins: [
    {
      name: 'static-plugin-folders',
      setup(b) {
        b.onLoad({ filter: /[\\/]dist[\\/]src[\\/]plugin-folders\.js$/ }, () => ({ contents: staticPluginFolders(), resolveDir: DIST, loader: 'js' }));
      },
    },
  ],
});
