/**
 * File and descriptor options through tsocat and through real socat: the same
 * command line in two fresh directories with the same files must leave the
 * same contents, modes and names behind and end with the same status.
 */
import { chmodSync, linkSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requires, run, SOCAT, TSOCAT, tempDir } from '../helpers.js';

interface Case {
  args: string[];
  input?: string;
  /** Files made first: content, and mode when it matters. */
  files?: Record<string, { content: string; mode?: number }>;
  /** Hard links made first: new name → existing name. */
  links?: Record<string, string>;
}

/** Every file left in the directory: its content and permission bits. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    out[name] = `${(statSync(path).mode & 0o777).toString(8)} ${JSON.stringify(readFileSync(path, 'utf8'))}`;
  }
  return out;
}

async function outcome(tool: string[], c: Case): Promise<{ status: number | null; stdout: string; files: Record<string, string> }> {
  const { dir, cleanup } = tempDir();
  try {
    for (const [name, f] of Object.entries(c.files ?? {})) {
      writeFileSync(join(dir, name), f.content);
      if (f.mode !== undefined) chmodSync(join(dir, name), f.mode);
    }
    for (const [name, existing] of Object.entries(c.links ?? {})) linkSync(join(dir, existing), join(dir, name));
    const [cmd, ...pre] = tool as [string, ...string[]];
    // the same umask for both, whatever the test runner's is
    const r = await run('sh', ['-c', 'umask 022; exec "$@"', 'sh', cmd, ...pre, ...c.args], { input: c.input ?? '', cwd: dir, timeoutMs: 8000 });
    return { status: r.status, stdout: r.stdout.toString(), files: snapshot(dir) };
  } finally {
    cleanup();
  }
}

const CASES: Record<string, Case> = {
  'perm is the creation mode, umask applies': { args: ['-u', '-', 'OPEN:new,creat,perm=0666'], input: 'x' },
  'perm leaves an existing file\'s mode alone': { args: ['-u', '-', 'OPEN:old,perm=0600'], input: 'x', files: { old: { content: 'old', mode: 0o644 } } },
  'CREATE with perm': { args: ['-u', '-', 'CREATE:new,perm=0751'], input: 'x' },
  'umask while the address opens': { args: ['-u', '-', 'CREATE:new,umask=0077'], input: 'x' },
  'GOPEN appends to an existing file': { args: ['-u', '-', 'GOPEN:old'], input: 'ab', files: { old: { content: '0123456789' } } },
  'seek=4 for writing': { args: ['-u', '-', 'OPEN:old,seek=4'], input: 'ab', files: { old: { content: '0123456789' } } },
  'seek=4 for reading': { args: ['-u', 'OPEN:old,seek=4', '-'], files: { old: { content: '0123456789' } } },
  'ftruncate=3 then write': { args: ['-u', '-', 'OPEN:old,ftruncate=3'], input: 'ab', files: { old: { content: '0123456789' } } },
  'unlink-early makes a new file, the hard link keeps the old one': { args: ['-u', '-', 'OPEN:old,creat,unlink-early'], input: 'new', files: { old: { content: 'old' } }, links: { link: 'old' } },
  'unlink-late': { args: ['-u', 'OPEN:old,unlink-late', '-'], files: { old: { content: 'data' } } },
  'unlink-close': { args: ['-u', '-', 'OPEN:old,unlink-close'], input: 'x', files: { old: { content: 'data' } } },
  'trunc': { args: ['-u', '-', 'OPEN:old,trunc'], input: 'ab', files: { old: { content: '0123456789' } } },
  'cloexec=0 passes the file to a program': { args: ['-u', 'OPEN:old,cloexec=0', 'SYSTEM:ls -l /proc/self/fd | grep -c "/old$" >count; cat >/dev/null'], files: { old: { content: 'data' } } },
};

describe('file and descriptor options: tsocat and socat leave the same files', () => {
  requires('socat');
  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const theirs = await outcome([SOCAT as string], c);
      const ours = await outcome([process.execPath, TSOCAT], c);
      expect(ours).toEqual(theirs);
    });
  }
});
