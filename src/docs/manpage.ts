/**
 * man/tsocat.1, generated (`npm run docs`) as docs/options.md is: the flags
 * from -h's usage text, the addresses from the registry, the options by group
 * from the catalog, the differences from docs/differences.md and the examples
 * from the README's Use section. test/unit/manpage.test.ts fails when the
 * committed page drifts from what this produces.
 */
import { readFileSync } from 'node:fs';
import { allPlugins } from '../../addresses/index.js';
import { allOptions, type OptionDef, type OptionGroup } from '../../options/catalog.js';
import { loadCatalog } from '../../options/index.js';
import { USAGE } from '../cli/help.js';
import { syntaxOf } from '../define.js';
import { VERSION } from '../version.js';

/** What each option group is for, in the order the page lists them. */
const GROUP_TITLES: ReadonlyArray<[OptionGroup, string]> = [
  ['ADDR', 'any address'],
  ['APPL', 'the relay (any address)'],
  ['PROCESS', 'the tsocat process (any address)'],
  ['FD', 'any descriptor'],
  ['NAMED', 'addresses with a file name'],
  ['OPEN', 'opening a file'],
  ['REG', 'regular files'],
  ['FIFO', 'named pipes'],
  ['EXEC', 'programs (EXEC, SYSTEM)'],
  ['SHELL', 'the SHELL address'],
  ['FORK', 'the child of a program address'],
  ['CHILD', 'each peer of a forking listener'],
  ['SOCKET', 'any socket'],
  ['IP4', 'IPv4 sockets'],
  ['IP6', 'IPv6 sockets'],
  ['TCP', 'TCP'],
  ['UDPLITE', 'UDP-Lite'],
  ['UNIX', 'UNIX domain sockets'],
  ['LISTEN', 'listening addresses'],
  ['RANGE', 'which peers a listener accepts'],
  ['RETRY', 'retrying an address'],
  ['TERMIOS', 'terminals (termios)'],
  ['PTY', 'pseudo-terminals'],
  ['SERIAL', 'serial devices'],
  ['RECONNECT', 'addresses that connect again when the connection drops (TCP, UNIX-CONNECT)'],
  ['READLINE', 'READLINE'],
  ['OPENSSL', 'TLS (OPENSSL)'],
  ['HTTP', 'HTTP CONNECT proxies (PROXY)'],
  ['SOCKS', 'SOCKS4, SOCKS4A and SOCKS5'],
  ['PARENT', 'the parent of a program address'],
];

/** Text for roff: backslashes and a leading dot or quote made harmless, `code` in bold. */
export function roff(text: string): string {
  const escaped = text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/`([^`]+)`/g, '\\fB$1\\fR')
    .replace(/\*\*([^*]+)\*\*/g, '\\fB$1\\fR');
  // groff reads ASCII: anything else as its Unicode escape, so no preprocessor is needed
  const ascii = escaped.replace(/[^\x00-\x7f]/gu, (c) => `\\[u${(c.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}]`);
  return ascii.replace(/^([.'])/gm, '\\&$1');
}

/** A literal word in bold (a command line, a keyword, an option name). */
function bold(text: string): string {
  return `\\fB${roff(text)}\\fR`;
}

function section(title: string): string {
  return `.SH ${title}\n`;
}

/** One flag per .TP from -h's usage lines (`      -d[ddd]        increase verbosity…`). */
function flags(): string {
  let out = '';
  for (const line of USAGE.split('\n')) {
    const m = line.match(/^ {6}(-\S+(?: \S+)?)\s{2,}(.*)$/);
    if (!m) continue;
    out += `.TP\n${bold(m[1] as string)}\n${roff(m[2] as string)}\n`;
  }
  return out;
}

async function addresses(): Promise<string> {
  let out = '';
  for (const p of await allPlugins()) {
    const [main, ...aliases] = p.names;
    // \: lets a long syntax break after a colon instead of running past the margin
    out += `.TP\n${bold(`${main}${syntaxOf(p)}`).replace(/:/g, ':\\:')}\n${roff(p.summary)}.\n`;
    if (aliases.length) out += `.br\nAlso: ${aliases.map(bold).join(', ')}.\n`;
    out += `.br\nOption groups: ${p.groups.join(', ')}.\n`;
  }
  return out;
}

function optionEntry(def: OptionDef): string {
  const value = def.type === 'bool' ? '[=0|1]' : def.type === 'const' ? '' : `=<${def.values ? def.values.join('|') : def.type}>`;
  let out = `.TP\n${bold(`${def.name}${value}`)}\n${roff(def.summary)}.\n`;
  if (def.aliases?.length) out += `.br\nAlso: ${def.aliases.map(bold).join(', ')}.\n`;
  return out;
}

/** Options under the first group each names, groups in GROUP_TITLES order. */
function optionsByGroup(): string {
  const byGroup = new Map<OptionGroup, OptionDef[]>();
  for (const def of allOptions()) {
    const group = def.groups[0] as OptionGroup;
    byGroup.set(group, [...(byGroup.get(group) ?? []), def]);
  }
  const order = [...GROUP_TITLES.map(([g]) => g), ...[...byGroup.keys()].filter((g) => !GROUP_TITLES.some(([t]) => t === g))];
  let out = '';
  for (const group of order) {
    const defs = byGroup.get(group);
    if (!defs) continue;
    const title = GROUP_TITLES.find(([g]) => g === group)?.[1] ?? group;
    out += `.SS ${group}: ${roff(title)}\n`;
    for (const def of defs) out += optionEntry(def);
  }
  return out;
}

/** A markdown table row's cells (a `\|` inside a cell is a literal bar). */
function cells(row: string): string[] {
  return row
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));
}

function differences(markdown: string): string {
  let out = '';
  const rows = markdown.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| topic |'));
  for (const row of rows) {
    const [topic = '', socat = '', tsocat = '', why = ''] = cells(row);
    out += `.TP\n${roff(topic)}\n.B socat:\n${roff(socat)}.\n.br\n.B tsocat:\n${roff(tsocat)}.\n.br\n.B Why:\n${roff(why)}.\n`;
  }
  return out;
}

/** The README's Use block: `tsocat …   # what it does`. */
function examples(readme: string): string {
  const use = readme.slice(readme.indexOf('## Use'));
  const block = use.match(/```sh\n([\s\S]*?)```/)?.[1] ?? '';
  let out = '';
  for (const line of block.split('\n')) {
    const m = line.match(/^(.*?)\s+#\s+(.*)$/);
    if (!m) continue;
    out += `.TP\n${bold(m[1] as string)}\n${roff(m[2] as string)}.\n`;
  }
  return out;
}

/** The whole page; `root` is the folder holding README.md and docs/. */
export async function manPage(root: URL): Promise<string> {
  await loadCatalog();
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const diffs = readFileSync(new URL('docs/differences.md', root), 'utf8');
  return `.\\" generated by \`npm run docs\` from addresses/, options/, docs/differences.md and README.md; do not edit
.TH TSOCAT 1 "" "tsocat ${VERSION}" "User Commands"
.\\" left-aligned: address syntaxes are long words that a justified line cannot spread
.ad l
${section('NAME')}tsocat \\- socat, the multipurpose relay, in TypeScript on Node.js
${section('SYNOPSIS')}.B tsocat
[\\fIoptions\\fR] \\fIaddress1\\fR \\fIaddress2\\fR
.br
.B tsocat
\\fB\\-V\\fR | \\fB\\-h\\fR[\\fBh\\fR[\\fBh\\fR]] | \\fB\\-\\-list\\-serial\\fR | \\fB\\-\\-completion\\fR \\fIbash\\fR|\\fIzsh\\fR
.br
.B tsocat serve
[\\fB\\-\\-check\\fR] [\\fB\\-\\-metrics\\fR \\fIhost\\fB:\\fIport\\fR] \\fIrelays.yaml\\fR
${section('DESCRIPTION')}tsocat opens two addresses and relays bytes between them in both directions, as
.BR socat (1)
does, and takes socat's command lines unchanged.
An address is \\fITYPE\\fB:\\fIparam\\fB:\\fIparam\\fB,\\fIoption\\fB,\\fIoption\\fB=\\fIvalue\\fR;
keywords and option names are case\\-insensitive;
\\fB\\-\\fR is STDIO, a lone number is FD:\\fInumber\\fR, a path with \\fB/\\fR is GOPEN:\\fIpath\\fR,
and \\fIa\\fB!!\\fIb\\fR reads from \\fIa\\fR and writes to \\fIb\\fR.
With \\fBfork\\fR, a listening address serves any number of peers, each in a session of its own within one process.
Errors are one log line on stderr (\\fIdate time\\fR \\fBtsocat[\\fIpid\\fB] E\\fR \\fImessage\\fR) and exit status 1.
${section('OPTIONS')}${flags()}${section('ADDRESSES')}${await addresses()}${section('ADDRESS OPTIONS')}Each address accepts the options of the groups it lists (\\fB\\-g\\fR lifts that check);
an option an address cannot honour is refused, never ignored.
${optionsByGroup()}${section('SIGNALS')}.TP
.B SIGUSR1
logs the bytes and blocks moved so far in each direction (the \\fB\\-\\-statistics\\fR lines), and the relay goes on.
.TP
.BR SIGTERM ", " SIGINT ", " SIGHUP ", " SIGQUIT
end the relay: \\fBexiting on signal\\fR \\fIn\\fR, exit status 128+\\fIn\\fR; \\fB\\-S\\fR chooses which are logged.
${section('DIFFERENCES FROM SOCAT')}${differences(diffs)}${section('EXAMPLES')}${examples(readme)}${section('SEE ALSO')}.BR socat (1);
docs/recipes.md, docs/library.md, docs/options.md and docs/addresses.md in the source.
`;
}
