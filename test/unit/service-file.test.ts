/**
 * The service file of `tsocat serve` (src/serve/service-file.ts): relay
 * definitions with the lines they sit on, and every problem with the file's
 * shape placed on its line; docs/service-file.md is what the schema says.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkRelay, checkRelays } from '../../src/serve/relay-check.js';
import { problemText, readServiceFile } from '../../src/serve/service-file.js';
import { serviceFileReference } from '../../src/serve/schema.js';
import { ROOT } from '../helpers.js';

/** The shape problems of a file's text, as `--check` prints them. */
const schemaProblems = (text: string) => readServiceFile(text, 'f.yaml').problems.map(problemText);

describe('reading a service file', () => {
  it('gives each relay its addresses, flags (a string or a list), enabled, and the lines of its fields', () => {
    const text = [
      'relays:',
      '  web:',
      '    address1: TCP-LISTEN:8080,fork',
      '    address2: TCP:10.0.0.5:80',
      '    flags: -d -d  -t 2',
      '  serial:',
      '    address1: "TCP-LISTEN:7001,fork"',
      '    address2: SERIAL:/dev/ttyUSB0,b115200,raw',
      '    flags: [-u, -T, 60]',
      '    enabled: false',
      '',
    ].join('\n');
    const { relays, problems } = readServiceFile(text, 'r.yaml');
    expect(problems).toEqual([]);
    expect(relays).toEqual([
      { name: 'web', address1: 'TCP-LISTEN:8080,fork', address2: 'TCP:10.0.0.5:80', flags: ['-d', '-d', '-t', '2'], enabled: true, line: 2, lines: { address1: 3, address2: 4, flags: 5 } },
      { name: 'serial', address1: 'TCP-LISTEN:7001,fork', address2: 'SERIAL:/dev/ttyUSB0,b115200,raw', flags: ['-u', '-T', '60'], enabled: false, line: 6, lines: { address1: 7, address2: 8, flags: 9 } },
    ]);
  });

  it('places each problem on its line: YAML syntax, duplicate names, unknown keys, missing and mistyped fields', () => {
    expect(schemaProblems('relays:\n  a:\n    address1: [unclosed\n')).toEqual([expect.stringMatching(/^f\.yaml:\d+: YAML: /)]);
    expect(schemaProblems('relays:\n  a:\n    address1: X\n    address2: Y\n  a:\n    address1: X\n    address2: Y\n')).toEqual(['f.yaml:5: YAML: Map keys must be unique']);
    expect(schemaProblems('relay:\n  a: {}\n')).toEqual(['f.yaml:1: unknown key "relay" (known: relays)', 'f.yaml:1: "relays" must be a mapping of relay names to relays']);
    expect(schemaProblems('relays:\n  a:\n    address1: X\n    adress2: Y\n    enabled: "no"\n')).toEqual([
      'f.yaml:4: relay "a": unknown key "adress2" (known: address1, address2, flags, enabled)',
      'f.yaml:2: relay "a": address2 is missing',
      'f.yaml:5: relay "a": enabled must be true or false',
    ]);
    expect(schemaProblems('relays:\n  a:\n    address1: X\n    address2: 5\n    flags: {d: 1}\n')).toEqual([
      `f.yaml:4: relay "a": address2 must be a non-empty string (an address in socat's syntax)`,
      'f.yaml:5: relay "a": flags must be a string ("-d -d -t 2") or a list of strings',
    ]);
    expect(schemaProblems('relays:\n  "bad name":\n    address1: X\n    address2: Y\n')).toEqual([
      'f.yaml:2: relay "bad name": a relay name is letters, digits, ".", "_" and "-", starting with a letter or digit',
    ]);
  });

  it('checks flags and addresses as the command line does, each on its field\'s line; process-wide flags are refused', async () => {
    const problemsOf = async (flags: string, a1 = 'TCP-LISTEN:1234,fork', a2 = 'EXEC:cat') => {
      const def = { name: 'r', address1: a1, address2: a2, flags: flags.split(' ').filter(Boolean), enabled: true, line: 2, lines: { address1: 3, address2: 4, flags: 5 } };
      const r = await checkRelay(def, 'f.yaml');
      return Array.isArray(r) ? r.map(problemText) : [];
    };
    expect(await problemsOf('-d -d -t 2 -u')).toEqual([]);
    expect(await problemsOf('-L /tmp/lock')).toEqual(['f.yaml:5: relay "r": flags: -L applies to the whole process, not to one relay (give it to tsocat serve)']);
    expect(await problemsOf('-lf /tmp/log')).toEqual(['f.yaml:5: relay "r": flags: -lf applies to the whole process, not to one relay (give it to tsocat serve)']);
    expect(await problemsOf('-d STDIO')).toEqual(['f.yaml:5: relay "r": flags: "STDIO" is not a flag (the addresses go in address1 and address2)']);
    expect(await problemsOf('-q')).toEqual(['f.yaml:5: relay "r": flags: unknown option "-q"; use option "-h" for help']);
    expect(await problemsOf('', 'TCP-LISTEN:1234,fork', 'NOSUCH:1')).toEqual(['f.yaml:4: relay "r": address2: unknown device/address "NOSUCH"']);
  });
});

describe('docs/service-file.md', () => {
  it('is what the schema generates (npm run docs)', () => {
    expect(readFileSync(`${ROOT}/docs/service-file.md`, 'utf8')).toBe(serviceFileReference());
  });
});

describe('the service files the docs show', () => {
  it.each(['service-file.md', 'from-ser2net-and-socat.md'])('every relays: example in docs/%s passes --check', async (doc) => {
    const blocks = [...readFileSync(`${ROOT}/docs/${doc}`, 'utf8').matchAll(/```yaml\n(relays:\n[\s\S]*?)```/g)].map((m) => m[1] as string);
    expect(blocks.length).toBeGreaterThan(0);
    for (const text of blocks) {
      const { relays, problems } = readServiceFile(text, doc);
      const checked = await checkRelays(relays, doc);
      expect([...problems, ...checked.problems].map(problemText)).toEqual([]);
      expect(checked.relays.length).toBe(relays.length);
    }
  });
});
