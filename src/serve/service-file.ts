/**
 * Reading a service file: YAML (the `yaml` package, whose nodes know their
 * place in the text) into relay definitions, each with the line it starts on,
 * and every problem with the file's shape as `file:line` errors. What the
 * relays' flags and addresses mean is checked by relay-check.ts.
 */
import { createRequire } from 'node:module';
import type { LineCounter as LineCounterType, Node as YamlNode } from 'yaml';
import { RELAY_FIELDS, TOP_FIELDS } from './schema.js';

export interface RelayDefinition {
  name: string;
  address1: string;
  address2: string;
  /** The relay's socat flags, one command-line word each. */
  flags: string[];
  enabled: boolean;
  /** Where the relay starts in the file (its name's line), and where each field's value is. */
  line: number;
  lines: { address1: number; address2: number; flags: number };
}

/** One problem, placed: `relays.yaml:12: relay "web": …`. */
export interface FileProblem {
  file: string;
  line: number;
  relay?: string;
  message: string;
}

export function problemText(p: FileProblem): string {
  return `${p.file}:${p.line}: ${p.relay !== undefined ? `relay "${p.relay}": ` : ''}${p.message}`;
}

export interface ServiceFile {
  relays: RelayDefinition[];
  problems: FileProblem[];
}

// loaded only by `tsocat serve`: `tsocat ADDR ADDR` never pays for the YAML parser
const require = createRequire(import.meta.url);

/** The relay definitions in `text` (the file `file`), and every problem found, each with its line. */
export function readServiceFile(text: string, file: string): ServiceFile {
  const yaml = require('yaml') as typeof import('yaml');
  const lines: LineCounterType = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const problems: FileProblem[] = [];
  const lineOf = (node: YamlNode | null | undefined): number => (node?.range ? lines.linePos(node.range[0]).line : 1);
  for (const e of [...doc.errors, ...doc.warnings]) {
    problems.push({ file, line: lines.linePos(e.pos[0]).line, message: `YAML: ${e.message.split('\n')[0]}` });
  }
  if (doc.errors.length > 0) return { relays: [], problems };

  const top = doc.contents;
  if (!yaml.isMap(top)) {
    problems.push({ file, line: lineOf(top), message: 'the file must be a mapping with a "relays" key' });
    return { relays: [], problems };
  }
  for (const pair of top.items) {
    const key = yaml.isScalar(pair.key) ? String(pair.key.value) : '?';
    if (!TOP_FIELDS.some((f) => f.key === key)) problems.push({ file, line: lineOf(pair.key as YamlNode), message: `unknown key "${key}" (known: ${TOP_FIELDS.map((f) => f.key).join(', ')})` });
  }
  const relaysNode = top.get('relays', true) as YamlNode | undefined;
  if (!yaml.isMap(relaysNode)) {
    problems.push({ file, line: lineOf(relaysNode ?? top), message: '"relays" must be a mapping of relay names to relays' });
    return { relays: [], problems };
  }

  const relays: RelayDefinition[] = [];
  for (const pair of relaysNode.items) {
    const nameNode = pair.key as YamlNode;
    const name = yaml.isScalar(nameNode) ? String(nameNode.value) : '';
    const line = lineOf(nameNode);
    const problem = (message: string, at = line) => problems.push({ file, line: at, relay: name, message });
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
      problem('a relay name is letters, digits, ".", "_" and "-", starting with a letter or digit');
      continue;
    }
    const body = pair.value as YamlNode | null;
    if (!yaml.isMap(body)) {
      problem('a relay must be a mapping with address1 and address2');
      continue;
    }
    const fieldLine = (key: string) => lineOf((body.get(key, true) as YamlNode | undefined) ?? nameNode);
    for (const item of body.items) {
      const key = yaml.isScalar(item.key) ? String(item.key.value) : '?';
      if (!RELAY_FIELDS.some((f) => f.key === key)) problem(`unknown key "${key}" (known: ${RELAY_FIELDS.map((f) => f.key).join(', ')})`, lineOf(item.key as YamlNode));
    }
    const text = (key: 'address1' | 'address2'): string | undefined => {
      const v = body.get(key);
      if (v === undefined || v === null) problem(`${key} is missing`);
      else if (typeof v !== 'string' || v === '') problem(`${key} must be a non-empty string (an address in socat's syntax)`, fieldLine(key));
      else return v;
      return undefined;
    };
    const address1 = text('address1');
    const address2 = text('address2');
    const flagsValue = body.get('flags', true) as YamlNode | undefined;
    let flags: string[] = [];
    const raw = yaml.isNode(flagsValue) ? flagsValue.toJSON() : undefined;
    if (raw === undefined || raw === null) flags = [];
    else if (typeof raw === 'string') flags = raw.split(/\s+/).filter((w) => w !== '');
    else if (Array.isArray(raw) && raw.every((w) => typeof w === 'string' || typeof w === 'number')) flags = raw.map(String);
    else problem('flags must be a string ("-d -d -t 2") or a list of strings', fieldLine('flags'));
    const enabledValue = body.get('enabled');
    if (enabledValue !== undefined && typeof enabledValue !== 'boolean') problem('enabled must be true or false', fieldLine('enabled'));
    if (address1 === undefined || address2 === undefined) continue;
    relays.push({
      name,
      address1,
      address2,
      flags,
      enabled: enabledValue !== false,
      line,
      lines: { address1: fieldLine('address1'), address2: fieldLine('address2'), flags: fieldLine('flags') },
    });
  }
  return { relays, problems };
}
