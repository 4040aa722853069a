/**
 * Option parity with socat 1.8: which of socat's option names tsocat offers,
 * and for each one it does not, why (options/parity-gaps.json). Read by the
 * docs generator (docs/socat-parity.md) and by test/unit/parity.test.ts.
 *
 * socat's side is docs/data/socat-1.8-options.json, extracted from socat's
 * source by scripts/socat-options-data.mjs: names, aliases and groups only.
 * A name counts as offered when tsocat's catalog knows it, as option or alias.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SocatOption {
  aliases: string[];
  groups: string[];
  phase: string;
  type: string;
}

export interface SocatData {
  socat: string;
  groups: string[];
  options: Record<string, SocatOption>;
  /** Names socat's source has only for other systems (not in a Linux build's -hhh). */
  notOnLinux: string[];
  addresses: Record<string, { aliases: string[]; groups: string[] }>;
}

export interface ParityGaps {
  /**
   * Reason for every option of a group tsocat has no address for at all. A
   * group default never excuses a name from needing its own reason (every
   * group is required); it only says why the whole group is absent.
   */
  groups: Record<string, string>;
  /** Reason per option or alias name (an option's entry covers its aliases). */
  options: Record<string, string>;
}

/** One socat option name and where tsocat stands on it. */
export interface NameParity {
  name: string;
  /** socat's canonical name of the option this name stands for. */
  option: string;
  offered: boolean;
  /** For a name not offered: the reason, or undefined when none is given. */
  reason?: string;
  /** Whether the reason comes from options/parity-gaps.json's option list (not a group default). */
  explicit: boolean;
}

/** The project's root: the nearest folder above this module with a package.json (works from src/ and dist/). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  return dir;
}

const readJson = <T>(rel: string): T => JSON.parse(readFileSync(join(projectRoot(), rel), 'utf8')) as T;

export const loadSocatData = (): SocatData => readJson<SocatData>('docs/data/socat-1.8-options.json');
export const loadParityGaps = (): ParityGaps => readJson<ParityGaps>('options/parity-gaps.json');

/** Every socat name (options, then their aliases) with tsocat's standing. */
export function nameParity(data: SocatData, gaps: ParityGaps, offered: (name: string) => boolean): NameParity[] {
  const out: NameParity[] = [];
  for (const [option, o] of Object.entries(data.options)) {
    const groupReason = o.groups.map((g) => gaps.groups[g]).find((r) => r !== undefined);
    for (const name of [option, ...o.aliases]) {
      if (offered(name)) {
        out.push({ name, option, offered: true, explicit: false });
        continue;
      }
      const own = gaps.options[name] ?? gaps.options[option];
      out.push({ name, option, offered: false, reason: own ?? groupReason, explicit: own !== undefined });
    }
  }
  return out;
}

/** Names, of any group, that are neither offered nor given a reason of their own. */
export function unexplainedGaps(names: readonly NameParity[]): string[] {
  return names.filter((n) => !n.offered && !n.explicit).map((n) => n.name);
}

/**
 * Entries of options/parity-gaps.json that no longer hold: the name is not
 * socat's, or tsocat offers it now (so its row should go); a group default
 * for a group tsocat offers names of (the group is not absent).
 */
export function staleGapEntries(data: SocatData, gaps: ParityGaps, offered: (name: string) => boolean): string[] {
  const socatNames = new Map<string, string>();
  for (const [option, o] of Object.entries(data.options)) for (const n of [option, ...o.aliases]) socatNames.set(n, option);
  const stale: string[] = [];
  for (const name of Object.keys(gaps.options)) {
    const option = socatNames.get(name);
    if (option === undefined) stale.push(`${name}: not a socat ${data.socat} option name`);
    else if (offered(name)) stale.push(`${name}: tsocat offers it now`);
  }
  for (const group of Object.keys(gaps.groups)) {
    if (!data.groups.includes(group)) stale.push(`${group}: not a socat group`);
    else if (Object.entries(data.options).some(([option, o]) => o.groups.includes(group) && [option, ...o.aliases].some(offered)))
      stale.push(`${group}: tsocat offers names of this group, so the group is not absent and its gaps need a reason each`);
  }
  return stale;
}

const code = (s: string): string => `\`${s}\``;

/** One table row: the option, its aliases, what tsocat lacks of it and why. */
function optionRow(option: string, o: SocatOption, byName: Map<string, NameParity>): string {
  const names = [option, ...o.aliases];
  const missing = names.filter((n) => !byName.get(n)?.offered);
  const status = missing.length === 0 ? 'yes' : missing.length === names.length ? 'no' : `without ${missing.map(code).join(', ')}`;
  const reasons = [...new Set(missing.map((n) => byName.get(n)?.reason ?? '**no reason given**'))];
  return `| ${code(option)} | ${o.aliases.map(code).join(' ') || '—'} | ${status} | ${reasons.join('; ') || ''} |\n`;
}

export interface TsocatAddress {
  names: readonly string[];
  groups: readonly string[];
}

/** docs/socat-parity.md. */
export function parityMarkdown(data: SocatData, gaps: ParityGaps, offered: (name: string) => boolean, addresses: readonly TsocatAddress[]): string {
  const names = nameParity(data, gaps, offered);
  const byName = new Map(names.map((n) => [n.name, n]));
  const options = Object.entries(data.options);
  const count = (pred: (n: NameParity) => boolean): number => names.filter(pred).length;

  let out = '<!-- generated by `npm run docs` from options/, options/parity-gaps.json and docs/data/socat-1.8-options.json; do not edit -->\n\n';
  out += `# Option parity with socat ${data.socat}\n\n`;
  out += `socat ${data.socat} on Linux knows ${options.length} address options under ${names.length} names (options and aliases). `;
  out += `tsocat offers ${count((n) => n.offered)} of those names; `;
  out += `${count((n) => !n.offered)} are missing, each with its reason below, and ${unexplainedGaps(names).length} without one.\n\n`;
  out += 'A name counts as offered when tsocat accepts it (as an option or an alias); what each does is in [options.md](options.md), and where it differs from socat, in [differences.md](differences.md). ';
  out += 'Reasons for missing names live in `options/parity-gaps.json`; socat\'s names come from `docs/data/socat-1.8-options.json`, extracted from socat\'s source by `scripts/socat-options-data.mjs`. ';
  out += 'An option of several groups is listed under each.\n\n';

  out += '## Groups of tsocat\'s addresses\n\n| address | tsocat\'s groups | socat\'s groups |\n|---|---|---|\n';
  for (const a of addresses) {
    const [main] = a.names;
    const socat = a.names.map((n) => data.addresses[n.toUpperCase()]).find((x) => x !== undefined);
    out += `| ${code(main ?? '?')} | ${a.groups.join(', ')} | ${socat ? socat.groups.join(', ') : '(not a socat address)'} |\n`;
  }
  out += '\nsocat accepts PROCESS and APPL options on every address without listing them.\n\n';

  out += '## Options by group\n\nEvery name of every group must be offered or explained one by one (`test/unit/parity.test.ts`).\n\n';
  out += '| group | socat options | names | tsocat offers | missing | without a reason |\n|---|---|---|---|---|---|\n';
  const ordered = [...data.groups.filter((g) => g !== 'ADDR'), 'ADDR'];
  const inGroup = (g: string) => options.filter(([, o]) => o.groups.includes(g));
  for (const g of ordered) {
    const opts = inGroup(g);
    if (opts.length === 0) continue;
    const groupNames = opts.flatMap(([opt, o]) => [opt, ...o.aliases]);
    const have = groupNames.filter((n) => byName.get(n)?.offered).length;
    const unexplained = groupNames.filter((n) => !byName.get(n)?.offered && !byName.get(n)?.explicit).length;
    out += `| [${g}](#${g.toLowerCase()}) | ${opts.length} | ${groupNames.length} | ${have} | ${groupNames.length - have} | ${unexplained} |\n`;
  }

  for (const g of ordered) {
    const opts = inGroup(g);
    if (opts.length === 0) continue;
    out += `\n## ${g}\n\n`;
    if (gaps.groups[g] !== undefined) out += `tsocat has no address for this group: ${gaps.groups[g]}.\n\n`;
    out += '| socat option | aliases | tsocat | why not |\n|---|---|---|---|\n';
    for (const [option, o] of opts) out += optionRow(option, o, byName);
  }

  out += `\n## Names for other systems\n\nsocat's source has ${data.notOnLinux.length} more names that socat's Linux build does not list (other systems' flags, or features left out of that build, such as libwrap); they are not counted above: `;
  out += `${data.notOnLinux.map(code).join(' ')}.\n`;
  return out;
}
