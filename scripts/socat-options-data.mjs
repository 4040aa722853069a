#!/usr/bin/env node
/**
 * Writes docs/data/socat-1.8-options.json: socat 1.8's address-option
 * interface — option names, aliases, groups, phases and types — and the option
 * groups of each socat address. Names only: no text of socat's is kept.
 * docs/socat-parity.md and test/unit/parity.test.ts read the file.
 *
 * Run by hand when moving to a new socat release, not in CI:
 *
 *   node scripts/socat-options-data.mjs [--src /tmp/socat-src] [--socat /tmp/socat-build/socat]
 *
 * Where it reads what:
 *   - xioopts.c `optionnames[]`: every name socat accepts and the option row
 *     (`&opt_…`) it stands for;
 *   - the `struct optdesc` rows in *.c: an option's canonical name, groups,
 *     phase and type (the canonical name is the row's first field; every other
 *     name of the row is an alias);
 *   - xioopts.h `GROUP_*` bits and xiohelp.c's list of group names: what the
 *     group bits are called;
 *   - xioopen.c `addressnames[]` and the `struct addrdesc` rows: each address
 *     keyword and its groups.
 * Which names a Linux build of socat offers (many rows are behind #ifdefs for
 * other systems or kernels) is taken from the `-hhh` list of a built socat:
 * names the source has but that list lacks go to `notOnLinux`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const argOf = (flag, fallback) => {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const SRC = argOf('--src', '/tmp/socat-src');
const SOCAT = argOf('--socat', '/tmp/socat-build/socat');
const OUT = new URL('../docs/data/socat-1.8-options.json', import.meta.url);

const read = (file) => readFileSync(join(SRC, file), 'utf8');
/** C source without comments, so commented-out rows do not count. */
const uncommented = (text) => text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');

// --- group bits and their names ---------------------------------------------
const groupNames = (() => {
  const m = read('xiohelp.c').match(/addressgroupnames\[\]\s*=\s*\{([\s\S]*?)\}/);
  if (!m) throw new Error('xiohelp.c: addressgroupnames[] not found');
  return [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
})();

/** GROUP_* macro → bit mask (BigInt); the first definition wins (the 64-bit branch). */
const groupBits = (() => {
  const defs = new Map();
  for (const m of uncommented(read('xioopts.h')).matchAll(/^#\s*define\s+(GROUP_\w+)\s+(.+)$/gm)) {
    if (!defs.has(m[1])) defs.set(m[1], m[2].trim());
  }
  const cache = new Map();
  const evaluate = (name, depth = 0) => {
    if (cache.has(name)) return cache.get(name);
    const expr = defs.get(name);
    if (expr === undefined || depth > 10) throw new Error(`xioopts.h: cannot evaluate ${name}`);
    const value = evalGroups(expr, (n) => evaluate(n, depth + 1));
    cache.set(name, value);
    return value;
  };
  return evaluate;
})();

/** An expression such as `GROUP_FD|GROUP_OPEN` or `((groups_t)0x01ULL)` as a bit mask. */
function evalGroups(expr, lookup = groupBits) {
  let bits = 0n;
  const cleaned = expr.replace(/\(groups_t\)/g, '').replace(/[()\s]/g, '');
  for (const part of cleaned.split('|')) {
    if (/^0x[0-9a-f]+u?l{0,2}$/i.test(part)) bits |= BigInt(part.replace(/[ul]+$/i, ''));
    else if (/^\d+$/.test(part)) bits |= BigInt(part);
    else if (/^GROUP_\w+$/.test(part)) bits |= lookup(part);
    else throw new Error(`cannot evaluate group expression "${expr}"`);
  }
  return bits;
}

function groupList(bits) {
  const out = [];
  for (let i = 0; i < groupNames.length; i++) if (bits & (1n << BigInt(i))) out.push(groupNames[i]);
  return out;
}

// --- option rows --------------------------------------------------------------
const cFiles = readdirSync(SRC).filter((f) => f.endsWith('.c'));
const optdescs = new Map();
const addrdescs = new Map();
for (const file of cFiles) {
  const text = uncommented(read(file));
  for (const m of text.matchAll(/struct\s+optdesc\s+(\w+)\s*=\s*\{\s*"([^"]*)"\s*,\s*(NULL|"[^"]*")\s*,\s*\w+\s*,\s*([^,]+?)\s*,\s*(\w+)\s*,\s*(\w+)/g)) {
    optdescs.set(m[1], { name: m[2], groups: groupList(evalGroups(m[4])), phase: m[5].replace(/^PH_/, ''), type: m[6].replace(/^TYPE_/, '') });
  }
  for (const m of text.matchAll(/struct\s+addrdesc\s+(\w+)\s*=\s*\{\s*"([^"]*)"\s*,\s*[^,]+,\s*\w+\s*,\s*([^,]+?)\s*,/g)) {
    addrdescs.set(m[1], { name: m[2], groups: groupList(evalGroups(m[3])) });
  }
}

/** `{ "name", &var }`-style table rows between `start` and the table's end. */
function tableRows(text, start, rowPattern) {
  const from = text.indexOf(start);
  if (from < 0) throw new Error(`"${start}" not found`);
  const body = text.slice(from, text.indexOf('};', from) >= 0 ? text.indexOf('} ;', from) : undefined);
  return [...body.matchAll(rowPattern)].map((m) => ({ name: m[1], ref: m[2] }));
}

const nameRows = tableRows(uncommented(read('xioopts.c')), 'optionnames[]', /IF_\w+\s*\(\s*"([^"]+)"\s*,\s*&(\w+)\s*\)/g);
const addressRows = tableRows(uncommented(read('xioopen.c')), 'addressnames[]', /\{\s*"([^"]+)"\s*,\s*&(\w+)\s*\}/g);

// --- what a Linux build lists ----------------------------------------------------
let linuxNames;
let linuxAddresses;
try {
  const help = execFileSync(SOCAT, ['-hhh'], { encoding: 'utf8' });
  const optionPart = help.slice(help.indexOf('\n   opt:'));
  // name → the option it stands for on this build (a name in several #ifdef branches of the table counts once)
  linuxNames = new Map([...optionPart.matchAll(/^ {6}([a-z0-9][\w.-]*)\t+(?:is an alias for (\S+))?/gm)].map((m) => [m[1], m[2] ?? m[1]]));
  const addressPart = help.slice(help.indexOf('address-head:'), help.indexOf('\n   opts:'));
  linuxAddresses = new Set([...addressPart.matchAll(/^ {6}([A-Z0-9][\w-]*)/gm)].map((m) => m[1]));
} catch (err) {
  console.error(`cannot run ${SOCAT} -hhh (${err.message}); a built socat 1.8 is needed to tell which names Linux has`);
  process.exit(1);
}

// --- assemble ---------------------------------------------------------------------
const byRef = new Map();
for (const row of nameRows) {
  const desc = optdescs.get(row.ref);
  if (!desc) throw new Error(`xioopts.c: no struct optdesc ${row.ref} (for "${row.name}")`);
  // the other #ifdef branch of a name this build resolves elsewhere
  if (linuxNames.has(row.name) && linuxNames.get(row.name) !== desc.name && linuxNames.get(row.name) !== row.name) continue;
  if (!byRef.has(row.ref)) byRef.set(row.ref, { ...desc, names: [] });
  byRef.get(row.ref).names.push(row.name);
}

const options = {};
const notOnLinux = [];
for (const opt of byRef.values()) {
  const onLinux = opt.names.filter((n) => linuxNames.has(n));
  notOnLinux.push(...opt.names.filter((n) => !linuxNames.has(n)));
  if (onLinux.length === 0) continue;
  // socat's -hhh prints the row's own name as the option and the others as aliases
  const canonical = onLinux.includes(opt.name) ? opt.name : onLinux[0];
  options[canonical] = {
    aliases: onLinux.filter((n) => n !== canonical).sort(),
    groups: opt.groups.length ? opt.groups : ["ADDR"], // GROUP_ADDR: every address
    phase: opt.phase,
    type: opt.type,
  };
}

const addresses = {};
const byAddr = new Map();
for (const row of addressRows) {
  if (!linuxAddresses.has(row.name)) continue;
  const desc = addrdescs.get(row.ref);
  if (!desc) throw new Error(`xioopen.c: no struct addrdesc ${row.ref} (for "${row.name}")`);
  if (!byAddr.has(row.ref)) byAddr.set(row.ref, { ...desc, names: [] });
  byAddr.get(row.ref).names.push(row.name);
}
for (const a of byAddr.values()) {
  const canonical = a.names.includes(a.name) ? a.name : a.names[0];
  addresses[canonical] = { aliases: a.names.filter((n) => n !== canonical).sort(), groups: a.groups };
}

const missing = [...linuxNames.keys()].filter((n) => !nameRows.some((r) => r.name === n));
if (missing.length) throw new Error(`socat -hhh lists names this script did not find in xioopts.c: ${missing.join(' ')}`);

const sortedKeys = (o) => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
const data = {
  socat: execFileSync(SOCAT, ['-V'], { encoding: 'utf8' }).match(/socat version (\S+)/)?.[1] ?? 'unknown',
  generatedBy: 'scripts/socat-options-data.mjs',
  groups: groupNames.filter((g) => g !== 'undef'),
  options: sortedKeys(options),
  notOnLinux: [...new Set(notOnLinux)].filter((n) => !linuxNames.has(n)).sort(),
  addresses: sortedKeys(addresses),
};
// one option or address a line, so an update's diff reads name by name
const lines = (o) => Object.entries(o).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n');
const scalar = (k) => `"${k}": ${JSON.stringify(data[k])}`;
writeFileSync(
  OUT,
  `{\n ${scalar('socat')},\n ${scalar('generatedBy')},\n ${scalar('groups')},\n "options": {\n${lines(data.options)}\n },\n ${scalar('notOnLinux')},\n "addresses": {\n${lines(data.addresses)}\n }\n}\n`,
);
const names = Object.values(options).reduce((n, o) => n + 1 + o.aliases.length, 0);
console.log(`socat ${data.socat}: ${Object.keys(options).length} options, ${names} names on Linux (${data.notOnLinux.length} more in the source only), ${Object.keys(addresses).length} addresses`);
