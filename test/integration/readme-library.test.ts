import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, ROOT, run } from '../helpers.js';

/** The README's first ```ts block under "## Library", as written. */
function readmeLibrarySnippet(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Library'));
  const block = section.match(/```ts\n([\s\S]*?)```/);
  if (!block) throw new Error('README.md has no ```ts block under "## Library"');
  return block[1] as string;
}

describe("README's library example", () => {
  it('runs as written: the listener serves, the client gets its echo, abort ends the relay with status 0, a typo is a TsocatError', async () => {
    const port = await freePort();
    const snippet = readmeLibrarySnippet();
    expect(snippet).toContain("from 'tsocat'");
    expect(snippet).toContain('4545');
    // the package name resolves to the built library, and the example's port to one this test owns
    const program = snippet.replace("from 'tsocat'", `from ${JSON.stringify(join(ROOT, 'dist', 'src', 'index.js'))}`).replaceAll('4545', String(port));
    const dir = mkdtempSync(join(tmpdir(), 'tsocat-readme-'));
    try {
      // the snippet is TypeScript without types: Node runs it as a module
      writeFileSync(join(dir, 'example.mjs'), program);
      const r = await run(process.execPath, [join(dir, 'example.mjs')], { timeoutMs: 15000 });
      expect(r.stderr).toBe('');
      expect(r.stdout.toString()).toBe('hi\n\nrelay ended with status 0\n1 parseopts_table(): unknown option "reuseadr"\n');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
