/**
 * -h/-hh/-hhh, generated from the registry and the option catalog so they
 * list exactly what works (-V is version-text.ts). Layout follows socat's, which scripts (and
 * socat's own test.sh) read.
 */
import { loadRegistry } from '../../addresses/index.js';
import { allOptions, type OptionDef } from '../../options/catalog.js';
import { loadCatalog } from '../../options/index.js';
import { syntaxOf } from '../define.js';
import { VERSION } from '../version.js';
import { SOCAT_OPTION_HELP } from './socat-option-help.js';

/** socat pads columns with tabs to multiples of 8. */
function tabsTo(width: number, used: number): string {
  return '\t'.repeat(Math.max(0, Math.floor((width - used + 7) / 8)));
}

export const USAGE = `Usage:
tsocat [options] <bi-address> <bi-address>
   options (general command line options):
      -V|--version   print version and feature information to stdout, and exit
      -h|-?|--help   print a help text describing command line options and addresses
      -hh    like -h, plus a list of all common address option names
      -hhh   like -hh, plus a list of all available address option names
      -d[ddd]        increase verbosity (use up to 4 times; 2 are recommended)
      -d0|1|2|3|4    set verbosity level (0: Errors; 4 all including Debug)
      -D     analyze the file descriptors before the transfer starts
      --experimental enable experimental features
      --statistics   output transfer statistics on exit
      --progress     show bytes, rate and time each way on stderr while one session runs
      --log-format json|text  write log lines as pino JSON objects, or as text (the default)
      --list-serial  list the serial devices (path, maker, ids) and exit
      --completion bash|zsh  print a shell completion script and exit
      --metrics <host>:<port>  serve Prometheus metrics of the relay at /metrics
      --workers <n>|auto  serve address 1's fork listener from n processes (auto: one per core)
      -ly[facility]  log to syslog, using facility (default is daemon)
      -lf<logfile>   log to file
      -ls            log to stderr (default if no other log)
      -lm[facility]  mixed log mode (stderr during initialization, then syslog)
      -lp<progname>  set the program name used for logging and vars
      -lu            use microseconds for logging timestamps
      -lh            add hostname to log messages
      -v     verbose text dump of data traffic
      -x     verbose hexadecimal dump of data traffic
      -r <file>      raw dump of data flowing from left to right
      -R <file>      raw dump of data flowing from right to left
      -b<size_t>     set data buffer size (8192)
      -s     sloppy (continue on error)
      -S<sigmask>    log these signals, override default
      -t<timeout>    wait seconds before closing second channel
      -T<timeout>    total inactivity timeout in seconds
      -u     unidirectional mode (left to right)
      -U     unidirectional mode (right to left)
      -g     do not check option groups
      -L <lockfile>  try to obtain lock, or fail
      -W <lockfile>  try to obtain lock, or wait
      -0     do not prefer an IP version
      -4     prefer IPv4 if version is not explicitly specified
      -6     prefer IPv6 if version is not explicitly specified
tsocat serve [--check] [--metrics <host>:<port>] <file.yaml>
   run every relay of a service file in one process; see tsocat serve --help
`;

function optionLine(name: string, def: OptionDef): string {
  const head = `      ${name}`;
  const groups = `groups=${def.groups.join(',')}`;
  // socat's own phase and type names where socat has the option (its test.sh reads them); tsocat's own otherwise
  const [socatPhase, socatType] = SOCAT_OPTION_HELP[name]?.split(' ') ?? [];
  const phase = `phase=${socatPhase ?? def.phase.toUpperCase()}`;
  return `${head}${tabsTo(16, head.length)}\t${groups}${tabsTo(24, groups.length)}${phase}${tabsTo(24, phase.length)}type=${socatType ?? def.type.toUpperCase()}\n`;
}

/** level 1: -h, 2: -hh, 3: -hhh. */
export async function helpText(level: number): Promise<string> {
  await loadCatalog();
  const registry = await loadRegistry();
  let out = `tsocat ${VERSION}: socat's relay in TypeScript\n${USAGE}`;
  out += '   bi-address:  /* is an address that may act both as data sync and source */\n';
  out += '      <single-address>\n      <single-address>!!<single-address>\n';
  out += '   single-address:\n      <address-head>[,<opts>]\n   address-head:\n';
  const names = [...registry.keys()].filter((n) => n !== '-').sort();
  for (const name of names) {
    const plugin = registry.get(name);
    if (!plugin) continue;
    const listed = plugin.listed ?? [plugin.names[0] as string];
    const main = listed.includes(name);
    if (main || level >= 3) {
      const head = main ? `      ${name}${syntaxOf(plugin)}` : `      ${name}`;
      const family = name.match(/[46]/)?.[0];
      const target = listed.find((l) => l.startsWith(name)) ?? listed.find((l) => family !== undefined && l.includes(family)) ?? listed[0];
      out += main
        ? `${head}${tabsTo(40, head.length)}\tgroups=${plugin.groups.join(',')}\n`
        : `${head}${tabsTo(40, head.length)}\tis an alias name for ${target}\n`;
    }
  }
  if (level >= 3) {
    out += '         <num> is a short form for fd:<num>\n';
    out += '         <filename> is a short form for gopen:<filename>\n';
  }
  if (level < 2) return out;
  out += '   opts:\n      <opt>{,<opts>}:\n   opt:\n';
  const rows: Array<[string, string]> = [];
  for (const def of allOptions()) {
    rows.push([def.name, optionLine(def.name, def)]);
    for (const alias of def.aliases ?? []) {
      const head = `      ${alias}`;
      rows.push([alias, level >= 3 ? `${head}${tabsTo(16, head.length)}\tis an alias for ${def.name}\n` : '']);
    }
  }
  rows.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [, line] of rows) out += line;
  return out;
}
