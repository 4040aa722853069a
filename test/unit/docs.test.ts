import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addressesDoc, optionsDoc, parityDoc, socatOptionHelpModule } from '../../src/docs/generate.js';
import { ROOT } from '../helpers.js';

describe('generated docs', () => {
  it('docs/addresses.md matches the registry (run `npm run docs` after changing addresses/)', async () => {
    expect(readFileSync(`${ROOT}/docs/addresses.md`, 'utf8')).toBe(await addressesDoc());
  });
  it('docs/options.md matches the catalog (run `npm run docs` after changing options/)', async () => {
    expect(readFileSync(`${ROOT}/docs/options.md`, 'utf8')).toBe(await optionsDoc());
  });
  it('docs/socat-parity.md matches the catalog and options/parity-gaps.json (run `npm run docs`)', async () => {
    expect(readFileSync(`${ROOT}/docs/socat-parity.md`, 'utf8')).toBe(await parityDoc());
  });
  it('src/cli/socat-option-help.ts matches docs/data/socat-1.8-options.json (run `npm run docs`)', () => {
    expect(readFileSync(`${ROOT}/src/cli/socat-option-help.ts`, 'utf8')).toBe(socatOptionHelpModule());
  });
});
