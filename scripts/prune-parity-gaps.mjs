#!/usr/bin/env node
/**
 * Drops the entries of options/parity-gaps.json that tsocat now offers (after
 * options were added), so the parity test's "no stale entry" holds again.
 * Needs a build (npm run build): it reads the built catalog.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { loadCatalog } = await import(join(ROOT, 'dist/options/index.js'));
const { findOption } = await import(join(ROOT, 'dist/options/catalog.js'));
await loadCatalog();
const file = join(ROOT, 'options/parity-gaps.json');
const gaps = JSON.parse(readFileSync(file, 'utf8'));
const dropped = Object.keys(gaps.options).filter((name) => findOption(name) !== undefined);
for (const name of dropped) delete gaps.options[name];
writeFileSync(file, `${JSON.stringify(gaps, null, 2)}\n`);
console.log(`parity gaps: ${dropped.length} dropped (now offered)${dropped.length ? `: ${dropped.join(' ')}` : ''}`);
