/**
 * Option parity with socat 1.8 (docs/socat-parity.md): every socat name of a
 * group that tsocat's addresses accept is offered, or options/parity-gaps.json
 * says why not; and no gap entry outlives the option it explains.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { findOption } from '../../options/catalog.js';
import { loadCatalog } from '../../options/index.js';
import { BUILT_GROUPS, loadParityGaps, loadSocatData, nameParity, staleGapEntries, unexplainedGaps } from '../../src/docs/parity.js';

const data = loadSocatData();
const gaps = loadParityGaps();
const offered = (name: string): boolean => findOption(name) !== undefined;

beforeAll(async () => {
  await loadCatalog();
});

describe('option parity with socat 1.8', () => {
  it('the data file is socat 1.8.1.1 on Linux: 426 options under 781 names, as its -hhh lists them', () => {
    expect(data.socat).toBe('1.8.1.1');
    const options = Object.values(data.options);
    expect(options.length).toBe(426);
    expect(options.reduce((n, o) => n + 1 + o.aliases.length, 0)).toBe(781);
  });

  it('every name of the groups tsocat accepts is offered or has a reason of its own in options/parity-gaps.json', () => {
    expect(unexplainedGaps(nameParity(data, gaps, offered))).toEqual([]);
  });

  it('every other missing name has a reason too (its own or its group\'s)', () => {
    const missing = nameParity(data, gaps, offered).filter((n) => !n.offered);
    expect(missing.filter((n) => n.reason === undefined).map((n) => n.name)).toEqual([]);
  });

  it('no gap entry is stale: each names a socat option that tsocat does not offer, each group default a group outside the built ones', () => {
    expect(staleGapEntries(data, gaps, offered)).toEqual([]);
  });

  it('a name tsocat offers stands for the same option as in socat (an alias is not bound to a different option)', () => {
    const wrong: string[] = [];
    for (const [option, o] of Object.entries(data.options)) {
      const rows = new Set([option, ...o.aliases].map((n) => findOption(n)).filter((d) => d !== undefined));
      if (rows.size > 1) wrong.push(`${option}: ${[...rows].map((d) => d.name).join(' / ')}`);
    }
    expect(wrong).toEqual([]);
  });

  it('the check itself notices: a built-group name with no entry is reported, and so is an entry for an offered name', () => {
    const withoutAsync = { ...gaps, options: Object.fromEntries(Object.entries(gaps.options).filter(([n]) => n !== 'async')) };
    const nothingOffered = (): boolean => false;
    // with nothing offered, every built-group name lacking an entry shows up
    expect(unexplainedGaps(nameParity(data, withoutAsync, nothingOffered))).toContain('cloexec');
    // an entry for a name tsocat offers is stale
    const extra = { ...gaps, options: { ...gaps.options, cloexec: 'issue #10, in progress' } };
    expect(staleGapEntries(data, extra, offered)).toContain('cloexec: tsocat offers it now');
    // a default reason for a group tsocat accepts would hide gaps: refused
    const groupDefault = { ...gaps, groups: { ...gaps.groups, TERMIOS: 'later' } };
    expect(staleGapEntries(data, groupDefault, offered).some((s) => s.startsWith('TERMIOS:'))).toBe(true);
    expect(BUILT_GROUPS).toContain('TERMIOS');
  });
});
