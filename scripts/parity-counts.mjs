#!/usr/bin/env node
/**
 * Option counts of socat and tsocat, each read from the program's own `-hhh`
 * list: option names in all (options plus aliases), options, aliases, and
 * options and names per group. For the notes of issue #10; rerun after merging.
 *
 *   node scripts/parity-counts.mjs [--socat /tmp/socat-build/socat] [--tsocat bin/tsocat.js] [--json]
 *
 * A group's names are its options and their aliases. Each program is counted
 * by its own groups (tsocat files a few options under other groups than socat).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const argOf = (flag, fallback) => {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const SOCAT = argOf('--socat', '/tmp/socat-build/socat');
const TSOCAT = argOf('--tsocat', fileURLToPath(new URL('../bin/tsocat.js', import.meta.url)));

/** Option lines of a -hhh list: `name<TAB>groups=A,B …` or `name<TAB>is an alias for other`. */
function optionsOf(command, commandArgs) {
  const help = execFileSync(command, [...commandArgs, '-hhh'], { encoding: 'utf8' });
  const part = help.slice(help.indexOf('\n   opt:'));
  const options = new Map();
  const aliases = new Map();
  for (const m of part.matchAll(/^ {6}([a-z0-9][\w.-]*)\t+(?:groups=(\(all\)|[A-Z0-9,]*)|is an alias for (\S+))/gm)) {
    if (m[3]) aliases.set(m[1], m[3]);
    else options.set(m[1], m[2] === '(all)' ? ['ADDR'] : m[2].split(',').filter(Boolean));
  }
  return { options, aliases };
}

function countsOf(list) {
  const perGroup = new Map();
  const bump = (group, key) => {
    const c = perGroup.get(group) ?? { options: 0, names: 0 };
    c[key]++;
    perGroup.set(group, c);
  };
  for (const groups of list.options.values()) {
    for (const g of groups) {
      bump(g, 'options');
      bump(g, 'names');
    }
  }
  for (const target of list.aliases.values()) for (const g of list.options.get(target) ?? []) bump(g, 'names');
  return { names: list.options.size + list.aliases.size, options: list.options.size, aliases: list.aliases.size, perGroup };
}

const socat = countsOf(optionsOf(SOCAT, []));
const tsocat = countsOf(optionsOf(process.execPath, [TSOCAT]));

if (args.includes('--json')) {
  const plain = (c) => ({ ...c, perGroup: Object.fromEntries(c.perGroup) });
  console.log(JSON.stringify({ socat: plain(socat), tsocat: plain(tsocat) }, null, 2));
} else {
  console.log(`option names: socat ${socat.names} (${socat.options} options + ${socat.aliases} aliases), tsocat ${tsocat.names} (${tsocat.options} options + ${tsocat.aliases} aliases)`);
  console.log('\ngroup        socat options/names   tsocat options/names');
  const groups = [...new Set([...socat.perGroup.keys(), ...tsocat.perGroup.keys()])].sort();
  for (const g of groups) {
    const s = socat.perGroup.get(g) ?? { options: 0, names: 0 };
    const t = tsocat.perGroup.get(g) ?? { options: 0, names: 0 };
    console.log(`${g.padEnd(12)} ${`${s.options}/${s.names}`.padStart(19)}   ${`${t.options}/${t.names}`.padStart(20)}`);
  }
}
