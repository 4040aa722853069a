/**
 * Option parity with socat 1.8 (docs/socat-parity.md): every socat name, of
 * every group, is offered, or options/parity-gaps.json says why not, name by
 * name; and no gap entry outlives the option it explains.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { findOption } from '../../options/catalog.js';
import { loadCatalog } from '../../options/index.js';
import { loadParityGaps, loadSocatData, nameParity, staleGapEntries, unexplainedGaps } from '../../src/docs/parity.js';

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

  it('every name of every group is offered or has a reason of its own in options/parity-gaps.json', () => {
    expect(unexplainedGaps(nameParity(data, gaps, offered))).toEqual([]);
  });

  it('no gap entry is stale: each names a socat option that tsocat does not offer, each group default a group tsocat offers nothing of', () => {
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

  it('the check itself notices: a name with no entry is reported, even under a group default, and so is an entry for an offered name', () => {
    const nothingOffered = (): boolean => false;
    // with nothing offered, every name lacking an entry shows up, whatever its group
    expect(unexplainedGaps(nameParity(data, gaps, nothingOffered))).toContain('cloexec');
    expect(unexplainedGaps(nameParity(data, gaps, nothingOffered))).toContain('so-keepalive');
    // a group default gives a reason but does not excuse a name from needing its own
    const dccpDefault = nameParity(data, { groups: { DCCP: 'no DCCP' }, options: {} }, nothingOffered);
    expect(dccpDefault.find((n) => n.name === 'dccp-set-ccid')?.reason).toBe('no DCCP');
    expect(unexplainedGaps(dccpDefault)).toContain('dccp-set-ccid');
    // an entry for a name tsocat offers is stale
    const extra = { ...gaps, options: { ...gaps.options, cloexec: 'issue #10, in progress' } };
    expect(staleGapEntries(data, extra, offered)).toContain('cloexec: tsocat offers it now');
    // a group default for a group tsocat offers names of is stale: the group is not absent
    const groupDefault = { ...gaps, groups: { ...gaps.groups, TERMIOS: 'later' } };
    expect(staleGapEntries(data, groupDefault, offered).some((s) => s.startsWith('TERMIOS:'))).toBe(true);
  });
});
