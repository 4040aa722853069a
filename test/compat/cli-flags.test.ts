/**
 * -D and -s side by side with real socat: the same descriptor analysis layout
 * for the same file, and the same outcome (status, bytes, file) when -s lets
 * a relay past an unknown address option.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requires, run, SOCAT, TSOCAT, tempDir } from '../helpers.js';

const scratch = tempDir();
afterAll(() => scratch.cleanup());

const tools = { socat: (args: string[], input?: string) => run(SOCAT as string, args, { input }), tsocat: (args: string[], input?: string) => run(process.execPath, [TSOCAT, ...args], { input }) };

describe('compared with socat', () => {
  requires('socat');
  it('-D: the same header and the same stat fields for the file being relayed', async () => {
    const file = join(scratch.dir, 'analysed');
    writeFileSync(file, 'content\n');
    const seen: Record<string, { header: string; fields: string[] }> = {};
    for (const [name, tool] of Object.entries(tools)) {
      const r = await tool(['-D', '-u', `OPEN:${file}`, 'STDOUT']);
      expect(r.stdout.toString()).toBe('content\n');
      const lines = r.stderr.split('\n');
      const fileLine = lines.find((l) => /^ *\d+: file\t/.test(l)) ?? '';
      // type … blocks: what the kernel says about the file, the same whoever asks
      seen[name] = { header: lines.find((l) => l.startsWith('  FD  type')) ?? '', fields: fileLine.replace(/^ *\d+: /, '').split('\t').slice(0, 11) };
    }
    expect(seen.tsocat).toEqual(seen.socat);
    expect(seen.tsocat?.fields[2]).toBe(String(statSync(file).ino));
  });

  it('-s: an unknown address option is reported, left out, and the data still arrives, status 0', async () => {
    const outcome: Record<string, unknown> = {};
    for (const [name, tool] of Object.entries(tools)) {
      const file = join(scratch.dir, `sloppy-${name}`);
      const r = await tool(['-s', '-u', '-', `OPEN:${file},creat,nosuchopt`], 'data\n');
      outcome[name] = { status: r.status, error: /E parseopts_table\(\): unknown option "nosuchopt"/.test(r.stderr), file: readFileSync(file, 'utf8') };
    }
    expect(outcome.tsocat).toEqual({ status: 0, error: true, file: 'data\n' });
    expect(outcome.tsocat).toEqual(outcome.socat);
  });
});
