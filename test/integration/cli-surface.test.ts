/**
 * What a newcomer meets first: -h lists every flag the parser takes, and
 * `tsocat --completion bash|zsh` completes flags, address keywords, option
 * names after a comma and enumeration values, all from the catalog.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../addresses/index.js';
import { allOptions } from '../../options/catalog.js';
import { loadCatalog } from '../../options/index.js';
import { FLAG_KEYS } from '../../src/cli/flags.js';
import { STRICT, skipBecause, TSOCAT, tempDir, tsocat } from '../helpers.js';

const scripts = new Map<string, string>();
let scriptDir: ReturnType<typeof tempDir> | undefined;
afterAll(() => scriptDir?.cleanup());

/** `tsocat --completion <shell>` written to a file once, for every case to source. */
function scriptFile(shell: 'bash' | 'zsh'): string {
  const known = scripts.get(shell);
  if (known) return known;
  scriptDir ??= tempDir();
  const r = spawnSync(process.execPath, [TSOCAT, '--completion', shell], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const file = join(scriptDir.dir, `tsocat.${shell}`);
  writeFileSync(file, r.stdout);
  scripts.set(shell, file);
  return file;
}

const LOG_LINE = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d tsocat\[\d+\] E (.*)\n$/;

describe('-h', () => {
  it('lists every flag the parser takes, tsocat-only ones included', async () => {
    const r = await tsocat(['-h']);
    expect(r.status).toBe(0);
    const usage = r.stdout.toString().split('   bi-address:')[0] as string;
    for (const flag of FLAG_KEYS) expect(usage, flag).toMatch(new RegExp(`(^|[\\s|])${flag.replace(/[?]/g, '\\$&')}`, 'm'));
    expect(usage).toContain('--list-serial  list the serial devices');
    expect(usage).toContain('--completion bash|zsh  print a shell completion script and exit');
  });
});

/**
 * Runs bash's completion function as bash calls it: COMP_LINE/COMP_POINT and
 * COMP_WORDS/COMP_CWORD for the line typed so far. `split` cuts the words at
 * bash's default COMP_WORDBREAKS (: and = among them), as an interactive bash does.
 */
function bashComplete(line: string, split: boolean): string[] {
  const script = `
source "${scriptFile('bash')}" || exit 9
COMP_LINE=$1
COMP_POINT=\${#COMP_LINE}
if [[ $2 == split ]]; then
  # words as readline makes them: spaces separate, and each of : = , is a word of its own ( , is not a break by default)
  COMP_WORDS=()
  rest=$COMP_LINE
  while [[ -n $rest ]]; do
    if [[ $rest == ' '* ]]; then rest=\${rest# }; [[ -z $rest ]] && COMP_WORDS+=(''); continue; fi
    if [[ $rest == [:=]* ]]; then COMP_WORDS+=("\${rest:0:1}"); rest=\${rest:1}; [[ -z $rest ]] && COMP_WORDS+=(''); continue; fi
    w=\${rest%%[ :=]*}; COMP_WORDS+=("$w"); rest=\${rest:\${#w}}
  done
else
  read -ra COMP_WORDS <<< "$COMP_LINE"
  [[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')
fi
COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
complete -p tsocat >/dev/null || exit 8
_tsocat
printf '%s\\n' "\${COMPREPLY[@]}"
`;
  const r = spawnSync('bash', ['-c', script, 'bash', line, split ? 'split' : 'whole'], { encoding: 'utf8', timeout: 10000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('--completion bash', () => {
  it('completes address keywords (in any case) and flags', () => {
    expect(bashComplete('tsocat TCP-L', false)).toEqual(['TCP-L', 'TCP-LISTEN']);
    expect(bashComplete('tsocat tcp4-l', false)).toEqual(['TCP4-L', 'TCP4-LISTEN']);
    expect(bashComplete('tsocat - PIPE!!STDO', false)).toEqual(['PIPE!!STDOUT']);
    expect(bashComplete('tsocat --list', false)).toEqual(['--list-serial']);
    expect(bashComplete('tsocat --completion ', false)).toEqual(['bash', 'zsh']);
  });

  it('completes option names after a comma, and enumeration values after =, whole or split at : and = as bash splits', () => {
    expect(bashComplete('tsocat - TCP:127.0.0.1:80,reu', false)).toEqual(['TCP:127.0.0.1:80,reuseaddr', 'TCP:127.0.0.1:80,reuseport']);
    // bash splits TCP:127.0.0.1:80,reu into TCP : 127.0.0.1 : 80,reu and replaces only the last word
    expect(bashComplete('tsocat - TCP:127.0.0.1:80,reu', true)).toEqual(['80,reuseaddr', '80,reuseport']);
    expect(bashComplete('tsocat - TCP:127.0.0.1:80,pf=', false)).toEqual(['TCP:127.0.0.1:80,pf=ip4', 'TCP:127.0.0.1:80,pf=ip6']);
    expect(bashComplete('tsocat - TCP:127.0.0.1:80,pf=', true)).toEqual(['ip4', 'ip6']);
    expect(bashComplete('tsocat - OPENSSL:h:443,min-proto-version=TLS1.', true)).toEqual(['TLS1.1', 'TLS1.2', 'TLS1.3']);
    expect(bashComplete('tsocat TCP-LISTEN:80,reuseaddr=', true)).toEqual(['0', '1']);
  });

  it('offers every address keyword, and after a comma the options of the address\'s groups (every option after an unknown keyword)', async () => {
    await loadCatalog();
    const registry = await loadRegistry();
    const names = (accepts: (groups: readonly string[]) => boolean) =>
      allOptions()
        .filter((d) => accepts(d.groups))
        .flatMap((d) => [d.name, ...(d.aliases ?? [])])
        .sort();
    const offeredAfter = (head: string) => bashComplete(`tsocat - ${head}`, false).map((c) => c.slice(head.length)).sort();
    expect(offeredAfter('NOSUCH,')).toEqual(names(() => true));
    for (const [head, keyword] of [['TCP:h:1,', 'TCP'], ['OPEN:/tmp/f,', 'OPEN'], ['/tmp/f,', 'GOPEN'], ['3,', 'FD'], ['-,', 'STDIO']] as const) {
      const groups = registry.get(keyword)?.groups ?? [];
      expect(groups.length, keyword).toBeGreaterThan(0);
      // as the catalog checks: ADDR and PROCESS options go with every address
      expect(offeredAfter(head), head).toEqual([...new Set(names((g) => g.some((x) => x === 'ADDR' || x === 'PROCESS' || groups.includes(x as never))))].sort());
    }
    expect(offeredAfter('TCP:h:1,')).toContain('nodelay');
    expect(offeredAfter('OPEN:/tmp/f,')).not.toContain('nodelay');
    expect(offeredAfter('OPEN:/tmp/f,')).toContain('append');
    const keywords = new Set(bashComplete('tsocat ', false));
    const help = (await tsocat(['-hhh'])).stdout.toString();
    const listed = [...help.matchAll(/^ {6}([A-Z][A-Z0-9-]*)(?=[:\s])/gm)].map((m) => m[1] as string);
    expect(listed.length).toBeGreaterThan(50);
    expect(listed.filter((k) => !keywords.has(k))).toEqual([]);
  });

  it('an unknown shell is refused in one line', async () => {
    const r = await tsocat(['--completion', 'fish']);
    expect(r.status).toBe(1);
    expect(r.stdout.toString()).toBe('');
    expect(r.stderr).toMatch(LOG_LINE);
    expect(LOG_LINE.exec(r.stderr)?.[1]).toBe('--completion: no completion script for shell "fish"; there are scripts for bash and zsh');
  });
});

describe('--completion zsh', () => {
  /**
   * zsh's completion builtins (compadd, compset) work only inside a completion
   * widget, which needs a terminal; here they are small functions that do what
   * the zsh manual says they do, so the script's own logic runs in a real zsh.
   */
  function zshComplete(ctx: Parameters<typeof skipBecause>[0], words: string[]): string[] {
    if (spawnSync('zsh', ['-c', 'true']).status !== 0) {
      if (STRICT) throw new Error('CI must run this test, but zsh is not on PATH');
      skipBecause(ctx, 'zsh is not on PATH (the test runs the zsh completion script)');
    }
    const script = `
compadd() {
  while (( $# )); do case $1 in -S|-M|-P) shift 2;; --) shift; break;; -*) shift;; *) break;; esac; done
  local x added=1; for x in "$@"; do if [[ \${x:l} == \${PREFIX:l}* ]]; then print -r -- "$IPREFIX$x"; added=0; fi; done
  return $added
}
compset() { [[ $1 == -P ]] || return 1; local m=\${(M)PREFIX##$~2}; [[ -n $m ]] || return 1; IPREFIX+=$m; PREFIX=\${PREFIX#$m}; }
_files() { print -r -- "$IPREFIX(files)"; }
compdef() { print -r -- "compdef $*"; }
source "${scriptFile('zsh')}" || exit 9
words=("$@"); CURRENT=$#; PREFIX=$words[CURRENT]; IPREFIX=''
_tsocat
`;
    const r = spawnSync('zsh', ['-f', '-c', script, 'zsh', ...words], { encoding: 'utf8', timeout: 10000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout.split('\n').filter((l) => l !== '');
  }

  it('registers itself and completes keywords, option names, values and flags', (ctx) => {
    expect(zshComplete(ctx, ['tsocat', 'TCP-L'])).toEqual(['compdef _tsocat tsocat', 'TCP-L', 'TCP-LISTEN']);
    expect(zshComplete(ctx, ['tsocat', '-', 'TCP:127.0.0.1:80,reu']).slice(1)).toEqual(['TCP:127.0.0.1:80,reuseaddr', 'TCP:127.0.0.1:80,reuseport']);
    expect(zshComplete(ctx, ['tsocat', '-', 'TCP:127.0.0.1:80,pf=']).slice(1)).toEqual(['TCP:127.0.0.1:80,pf=ip4', 'TCP:127.0.0.1:80,pf=ip6']);
    expect(zshComplete(ctx, ['tsocat', '-', 'TCP:h:1,nodel']).slice(1)).toEqual(['TCP:h:1,nodelay']);
    // an option of another group is not offered: OPEN takes no TCP options, so nothing completes
    const open = spawnSync('zsh', ['-f', '-c', `source "${scriptFile('zsh')}"; _tsocat_options_for OPEN`], { encoding: 'utf8' }).stdout.split('\n');
    expect(open).toContain('append');
    expect(open).not.toContain('nodelay');
    expect(zshComplete(ctx, ['tsocat', '--list']).slice(1)).toEqual(['--list-serial']);
    expect(zshComplete(ctx, ['tsocat', '--completion', '']).slice(1)).toEqual(['bash', 'zsh']);
    expect(zshComplete(ctx, ['tsocat', 'OPEN:/etc/host']).slice(1)).toEqual(['OPEN:(files)']);
  });
});
