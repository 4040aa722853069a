/**
 * The folder is the architecture (docs/architecture.md, "Layers"): every
 * import of src/, addresses/ and options/ is read and checked against the
 * declared layer order. A failure names the files, so the fix has an address.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Layers from the top down, each a list of path prefixes (the longest
 * matching prefix decides a file's layer). A file may import its own layer
 * or any below it, never one above.
 */
const LAYERS: ReadonlyArray<readonly [name: string, prefixes: readonly string[]]> = [
  ['command and library', ['src/cli.ts', 'src/cli/', 'src/serve/', 'src/index.ts', 'src/docs/']],
  ['address plugins', ['addresses/']],
  // option groups may check a value with the engine's own parser (ioctl values, IP option values)
  ['option groups', ['options/']],
  ['relay core', ['src/engine/relay/']],
  ['worker processes', ['src/engine/workers/']],
  ['opening', ['src/engine/opening/']],
  ['programs', ['src/engine/programs/']],
  ['terminals', ['src/engine/terminals/']],
  ['TUN interfaces', ['src/engine/tun/']],
  ['WebSocket', ['src/engine/websocket/']],
  ['DTLS', ['src/engine/dtls/']],
  ['handshakes', ['src/engine/handshakes/']],
  ['kernel-made streams', ['src/engine/sockets/kernel/']],
  ['UNIX sockets', ['src/engine/sockets/unix/']],
  ['message sockets', ['src/engine/sockets/messages/']],
  ['sockets', ['src/engine/sockets/']],
  ['descriptors', ['src/engine/descriptors/']],
  ['engine contract', ['src/engine/', 'src/define.ts']],
  // what the engine reads of the catalog: the catalog itself, its loader, and the tables it applies (inode flags, termios)
  ['option catalog', ['options/catalog.ts', 'options/index.ts', 'options/reg.ts', 'options/termios.ts']],
  ['logging', ['src/log/']],
  ['grammar', ['src/grammar/']],
  ['system calls', ['src/sys/']],
  ['base', ['src/errors.ts', 'src/ablation.ts', 'src/version.ts', 'src/plugin-folders.ts']],
];

/** The registry's own files: the only addresses/ files another file may import. */
const REGISTRY = ['addresses/index.ts'];

type ImportGraph = Map<string, string[]>;

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Static, type-only, re-export and literal dynamic imports: every way one module names another. */
const IMPORT = /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]*?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Each file's relative imports, resolved to repository paths (`x.js` names `x.ts`). */
function readImports(files: ReadonlyMap<string, string>): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const [file, text] of files) {
    const targets = new Set<string>();
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (!spec?.startsWith('.')) continue;
      targets.add(normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts'));
    }
    graph.set(file, [...targets]);
  }
  return graph;
}

function layerOf(file: string): number {
  let best = -1;
  let bestLength = -1;
  LAYERS.forEach(([, prefixes], i) => {
    for (const p of prefixes) if (file.startsWith(p) && p.length > bestLength) [best, bestLength] = [i, p.length];
  });
  return best;
}

/** Every import cycle, each as the files around it (`a → b → a`). */
function findCycles(graph: ImportGraph): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

/** Imports that break the layer rules, each worded with both files. */
function findViolations(graph: ImportGraph): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      if (file.startsWith('src/engine/') && target.startsWith('addresses/')) {
        found.push(`${file} imports ${target}: the engine never imports addresses/ (it is handed the registry through OpenContext)`);
        continue;
      }
      if (file.startsWith('addresses/') && target.startsWith('addresses/') && !REGISTRY.includes(target)) {
        found.push(`${file} imports ${target}: address plugins never import each other (shared code goes to src/engine/sockets/ or the folder of its job)`);
        continue;
      }
      const from = layerOf(file);
      const to = layerOf(target);
      if (from === -1) found.push(`${file} is in no layer: add its folder to LAYERS in test/unit/layout.test.ts`);
      else if (to === -1) found.push(`${file} imports ${target}, which is in no layer`);
      else if (to < from) found.push(`${file} (${LAYERS[from]?.[0]}) imports ${target} (${LAYERS[to]?.[0]}): an upward import`);
    }
  }
  return found;
}

function sources(): Map<string, string> {
  const files = ['src', 'addresses', 'options'].flatMap(tsFiles);
  return new Map(files.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]));
}

describe('layout: imports point one way', () => {
  const graph = readImports(sources());

  it('reads the imports of every module (the reader is not blind)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('src/engine/relay/relay.ts')).toContain('src/engine/opening/open.ts');
    // a dynamic import counts: a lazy dependency is still a dependency
    expect(graph.get('src/engine/sockets/sockopts.ts')).toContain('src/engine/sockets/socket-phases.ts');
    for (const [file, targets] of graph) for (const t of targets) expect(graph.has(t), `${file} imports ${t}, which does not exist`).toBe(true);
  });

  it('has no import cycle in src/, addresses/ or options/', () => {
    const cycles = findCycles(graph);
    expect(cycles, `import cycles:\n  ${cycles.join('\n  ')}`).toEqual([]);
  });

  it('has no import against the layer order, no engine import of addresses/, no plugin importing another', () => {
    const violations = findViolations(graph);
    expect(violations, `layer violations:\n  ${violations.join('\n  ')}`).toEqual([]);
  });

  it('keeps every engine folder small enough to read in one sitting', () => {
    const perFolder = new Map<string, string[]>();
    for (const file of graph.keys()) {
      if (!file.startsWith('src/engine/')) continue;
      const folder = dirname(file);
      perFolder.set(folder, [...(perFolder.get(folder) ?? []), file]);
    }
    const big = [...perFolder].filter(([, files]) => files.length > 12).map(([folder, files]) => `${folder}: ${files.length} files`);
    expect(big, `folders over 12 files:\n  ${big.join('\n  ')}`).toEqual([]);
  });

  it('finds a cycle and an upward import when there is one (the checks can fail)', () => {
    const bad: ImportGraph = new Map([
      ['src/sys/libc.ts', ['src/engine/context.ts']],
      ['src/engine/context.ts', ['src/sys/libc.ts']],
    ]);
    expect(findCycles(bad)).toEqual(['src/engine/context.ts → src/sys/libc.ts → src/engine/context.ts']);
    expect(findViolations(bad)).toEqual(['src/sys/libc.ts (system calls) imports src/engine/context.ts (engine contract): an upward import']);
  });
});
