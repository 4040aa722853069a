/**
 * `tsocat --completion bash|zsh`: a shell completion script generated from the
 * address registry and the option catalog, as -h and docs/options.md are, so it
 * completes exactly what this tsocat takes: flags, address keywords, option
 * names after a comma, and the values of options that are an enumeration.
 */
import { loadRegistry } from '../../addresses/index.js';
import { allOptions } from '../../options/catalog.js';
import { loadCatalog } from '../../options/index.js';
import { TsocatError } from '../errors.js';
import { FLAG_KEYS } from './flags.js';

export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

interface CompletionData {
  flags: string[];
  keywords: string[];
  options: string[];
  /** `name|alias` → the values it takes. */
  values: Array<[string, readonly string[]]>;
  /** `KEYWORD|ALIAS|…` → the option groups those addresses accept. */
  keywordGroups: Array<[string, readonly string[]]>;
  /** An option group → the option names (and aliases) in it; ANY: those every address takes (ADDR, PROCESS). */
  groupOptions: Array<[string, readonly string[]]>;
}

/** Every spelling tsocat accepts, once: flags, keywords with their aliases, option names with theirs. */
async function completionData(): Promise<CompletionData> {
  await loadCatalog();
  const registry = await loadRegistry();
  const keywords = [...registry.keys()].filter((k) => k !== '-').sort();
  const options: string[] = [];
  const values: Array<[string, readonly string[]]> = [];
  const byGroup = new Map<string, string[]>();
  for (const def of allOptions()) {
    const names = [def.name, ...(def.aliases ?? [])];
    options.push(...names);
    const taken = def.values ?? (def.type === 'bool' ? ['0', '1'] : undefined);
    if (taken) values.push([names.join('|'), taken]);
    // as the catalog checks them: ADDR and PROCESS options go with every address
    for (const group of def.groups.some((g) => g === 'ADDR' || g === 'PROCESS') ? ['ANY'] : def.groups) byGroup.set(group, [...(byGroup.get(group) ?? []), ...names]);
  }
  const byGroups = new Map<string, string[]>();
  for (const [keyword, plugin] of registry) {
    if (keyword === '-') continue;
    const groups = plugin.groups.join(' ');
    byGroups.set(groups, [...(byGroups.get(groups) ?? []), keyword]);
  }
  const keywordGroups = [...byGroups].map(([groups, names]): [string, string[]] => [names.sort().join('|'), groups.split(' ')]);
  // -d takes -dd…, -h -hh and -hhh: the spellings a user types, besides the parser's keys
  const flags = [...new Set([...FLAG_KEYS, '-dd', '-ddd', '-dddd', '-hh', '-hhh'])].sort();
  return { flags, keywords, options: options.sort(), values, keywordGroups, groupOptions: [...byGroup].map(([g, names]) => [g, names.sort()]) };
}

/** Words for a shell's single-quoted string (none of ours holds a quote). */
function words(list: readonly string[]): string {
  return list.join(' ');
}

function cases(rows: Array<[string, readonly string[]]>): string {
  return rows.map(([names, vals]) => `    ${names}) echo '${words(vals)}' ;;`).join('\n');
}

/**
 * The functions both shells share (their case and test syntax is the same):
 * an option's values, and the options an address takes, by the groups of its
 * keyword (a path is GOPEN, a number FD, - STDIO; an unknown keyword gets all).
 */
function sharedFunctions(data: CompletionData): string {
  return `_tsocat_options='${words(data.options)}'
_tsocat_values() {
  case $1 in
${cases(data.values)}
  esac
}
_tsocat_address_groups() {
  case $1 in
${cases(data.keywordGroups)}
  esac
}
_tsocat_group_options() {
  case $1 in
${cases(data.groupOptions)}
  esac
}
_tsocat_options_for() {
  local kw=$1 groups g
  case $kw in
    */*) kw=GOPEN ;;
    -) kw=STDIO ;;
    *[!0-9]*) ;;
    *) kw=FD ;;
  esac
  groups=$(_tsocat_address_groups "$kw")
  if [ -z "$groups" ]; then echo "$_tsocat_options"; return; fi
  { _tsocat_group_options ANY; for g in $(echo "$groups"); do _tsocat_group_options "$g"; done; } | tr ' ' '\\n' | sort -u
}
`;
}

function bashScript(data: CompletionData): string {
  return `# tsocat completion for bash, generated from its address registry and option catalog.
# Use: source <(tsocat --completion bash)   or save it as ~/.local/share/bash-completion/completions/tsocat
_tsocat_flags='${words(data.flags)}'
_tsocat_keywords='${words(data.keywords)}'
${sharedFunctions(data)}_tsocat() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  # an address is one argument, but bash splits words at : and = (COMP_WORDBREAKS): work on the whole argument
  local arg=$cur
  if [[ -n \${COMP_LINE-} ]]; then
    arg=\${COMP_LINE:0:\${COMP_POINT:-\${#COMP_LINE}}}
    arg=\${arg##*[[:space:]]}
  fi
  # the part of the argument that bash counts as earlier words; replies leave it out
  local skip=$(( \${#arg} - \${#cur} ))
  local before='' word=$arg c v
  if [[ $word == *'!!'* ]]; then before=\${word%'!!'*}'!!'; word=\${word##*'!!'}; fi
  local -a cands=()
  if [[ $prev == --completion ]]; then
    cands=(bash zsh)
  elif [[ $prev == --log-format ]]; then
    cands=(json text)
  elif [[ $word == -* && $word != *[,:]* && -z $before ]]; then
    cands=($_tsocat_flags)
  elif [[ $word == *,* ]]; then
    local head=\${word%,*} opt=\${word##*,}
    if [[ $opt == *=* ]]; then
      local name=\${opt%%=*}
      for v in $(_tsocat_values "\${name,,}"); do cands+=("$before$head,$name=$v"); done
    else
      local kw=\${head%%[:,]*}
      for v in $(_tsocat_options_for "\${kw^^}"); do cands+=("$before$head,$v"); done
    fi
  elif [[ $word == *:* ]]; then
    # a parameter: most are paths (OPEN, UNIX-CONNECT, EXEC's program)
    local head=\${word%:*}
    while IFS= read -r v; do cands+=("$before$head:$v"); done < <(compgen -f -- "\${word##*:}")
  else
    for v in $_tsocat_keywords; do cands+=("$before$v"); done
  fi
  COMPREPLY=()
  # keywords and option names in any case, as tsocat takes them
  local typed=\${arg,,}
  for c in "\${cands[@]}"; do
    [[ \${c,,} == "$typed"* ]] && COMPREPLY+=("\${c:skip}")
  done
  # an address goes on after a keyword, an option or a value (: , =), so no space after it
  [[ $word != -* || -n $before ]] && compopt -o nospace 2>/dev/null
  return 0
}
complete -F _tsocat tsocat
`;
}

function zshScript(data: CompletionData): string {
  return `#compdef tsocat
# tsocat completion for zsh, generated from its address registry and option catalog.
# Use (after compinit): source <(tsocat --completion zsh)   or save it as _tsocat in a folder on $fpath
${sharedFunctions(data)}_tsocat() {
  local -a flags keywords
  flags=(${words(data.flags)})
  keywords=(${words(data.keywords)})
  case \${words[CURRENT-1]} in
    --completion) compadd bash zsh; return ;;
    --log-format) compadd json text; return ;;
  esac
  if [[ $PREFIX == -* && $PREFIX != *[,:]* ]]; then compadd -- $flags; return; fi
  compset -P '*!!'
  local kw=\${\${PREFIX%%[:,]*}:u}
  if compset -P '*,'; then
    if [[ $PREFIX == *=* ]]; then
      local name=\${PREFIX%%=*}
      compset -P '*='
      compadd -S '' -- \${=$(_tsocat_values \${name:l})}
    else
      compadd -S '' -M 'm:{a-zA-Z}={A-Za-z}' -- \${=$(_tsocat_options_for $kw)}
    fi
    return
  fi
  if compset -P '*:'; then _files; return; fi
  compadd -S '' -M 'm:{a-zA-Z}={A-Za-z}' -- $keywords
}
if [[ \${funcstack[1]-} == _tsocat ]]; then _tsocat "$@"; else compdef _tsocat tsocat; fi
`;
}

/** The completion script for a shell, or a refusal naming the shells there are. */
export async function completionScript(shell: string): Promise<string> {
  if (!(COMPLETION_SHELLS as readonly string[]).includes(shell)) {
    throw new TsocatError(`--completion: no completion script for shell "${shell}"; there are scripts for ${COMPLETION_SHELLS.join(' and ')}`, 'EUSAGE');
  }
  const data = await completionData();
  return shell === 'bash' ? bashScript(data) : zshScript(data);
}
