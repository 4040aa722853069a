/**
 * The option catalog: every address option declared once, as data. Validation,
 * typing, `-hh`/`-hhh` and docs/options.md all read these rows.
 */
import { isAblated, traceUse } from '../src/ablation.js';
import { TsocatError } from '../src/errors.js';
import type { OptionSpec } from '../src/grammar/spec.js';

/** socat's option groups; an address accepts the options of the groups it lists. */
export type OptionGroup =
  | 'ADDR'
  | 'APPL'
  | 'FD'
  | 'NAMED'
  | 'OPEN'
  | 'REG'
  | 'FIFO'
  | 'PROCESS'
  | 'EXEC'
  | 'SHELL'
  | 'FORK'
  | 'SOCKET'
  | 'UNIX'
  | 'IP4'
  | 'IP6'
  | 'TCP'
  | 'LISTEN'
  | 'CHILD'
  | 'RETRY'
  | 'RANGE'
  | 'TERMIOS'
  | 'PTY'
  | 'PARENT'
  | 'READLINE'
  | 'SERIAL'
  | 'RECONNECT'
  | 'OPENSSL'
  | 'HTTP'
  | 'SOCKS'
  | 'UDPLITE'
  | 'WEBSOCKET'
  | 'PROXYPROTO'
  | 'PROXYPROTO-L'
  | 'POSIXMQ'
  | 'INTERFACE';

/** When an option takes effect while an address opens (socat's phases, coarsened). */
export type Phase = 'init' | 'open' | 'socket' | 'bind' | 'listen' | 'accept' | 'connect' | 'fd' | 'fork' | 'exec' | 'late';

export type OptionType = 'bool' | 'const' | 'int' | 'uint' | 'size' | 'mode' | 'timeval' | 'string' | 'filename' | 'user' | 'group' | 'int:int' | 'int:ulong';

/**
 * The C type a number lands in (socat's TYPE_BYTE, TYPE_INT…). A value outside
 * it is refused where it is parsed, so it never reaches a system call or Node
 * cut to another number (socat's strtoul would wrap it silently).
 */
export type CType = 'byte' | 'ushort' | 'int' | 'uint' | 'off_t' | 'size_t';

/** Smallest and largest value of each C type on 64-bit Linux. */
export const C_LIMITS: Readonly<Record<CType, readonly [bigint, bigint]>> = {
  byte: [0n, 255n],
  ushort: [0n, 65535n],
  int: [-(2n ** 31n), 2n ** 31n - 1n],
  uint: [0n, 2n ** 32n - 1n],
  // off_t is 64 bits, but Node's fs takes offsets as numbers, exact only up to 2^53-1
  off_t: [-(2n ** 53n - 1n), 2n ** 53n - 1n],
  size_t: [0n, 2n ** 64n - 1n],
};

/** The C type of each number type when a row does not name its own: buffer sizes are ints in setsockopt(). */
const DEFAULT_CTYPE: Partial<Record<OptionType, CType>> = { int: 'int', uint: 'uint', size: 'int', mode: 'uint' };

export interface OptionDef {
  name: string;
  aliases?: readonly string[];
  type: OptionType;
  /** The C type of a number option when it is not its type's usual one (ports are ushort, c_cc[] entries bytes, offsets off_t). */
  ctype?: CType;
  /** An address accepts the option when it lists any of these groups. */
  groups: readonly OptionGroup[];
  phase: Phase;
  summary: string;
  /** The values an enumeration takes, for shell completion and the man page (a bool's are 0 and 1 without this). */
  values?: readonly string[];
  /** What an empty value (`name=`) means, for the few options socat lets go without one. */
  emptyValue?: OptionValue;
  /** For a string option with a structure of its own (e.g. `<request>:<value>`): refuses a malformed value while the address is parsed, before anything opens. */
  check?: (value: string, optionText: string) => void;
  /**
   * Why tsocat cannot do what this socat option asks: the option is known (and
   * listed) but refused with this reason wherever it is given, never ignored.
   */
  unavailable?: string;
  /** Given more than once, every value counts, in order (ws-header); otherwise the last one given wins. */
  repeatable?: boolean;
}

export type OptionValue = boolean | number | string;

/** Options of one address after validation, keyed by canonical name. */
export class ResolvedOptions {
  private readonly values = new Map<string, OptionValue>();
  private readonly repeated = new Map<string, string[]>();

  set(name: string, value: OptionValue): void {
    this.values.set(name, value);
  }
  /** Adds one more value of a repeatable option (the last one is also its single value). */
  append(name: string, value: string): void {
    this.values.set(name, value);
    this.repeated.set(name, [...(this.repeated.get(name) ?? []), value]);
  }
  /** Every value a repeatable option was given, in order. */
  list(name: string): string[] {
    return this.repeated.get(name) ?? (this.values.has(name) ? [String(this.values.get(name))] : []);
  }
  has(name: string): boolean {
    return this.values.has(name);
  }
  bool(name: string): boolean {
    const v = this.values.get(name);
    return v === undefined ? false : Boolean(v);
  }
  number(name: string): number | undefined {
    const v = this.values.get(name);
    return typeof v === 'number' ? v : undefined;
  }
  string(name: string): string | undefined {
    const v = this.values.get(name);
    return v === undefined ? undefined : String(v);
  }
  names(): string[] {
    return [...this.values.keys()];
  }
  /** A copy without the named options, for an address that has used them up itself. */
  without(...names: string[]): ResolvedOptions {
    const copy = new ResolvedOptions();
    for (const [name, value] of this.values) if (!names.includes(name)) copy.set(name, value);
    for (const [name, list] of this.repeated) if (!names.includes(name)) copy.repeated.set(name, list);
    return copy;
  }
}

const registry = new Map<string, OptionDef>();
const all: OptionDef[] = [];

/** Adds option rows to the catalog; each file in options/ calls this once. */
export function defineOptions(defs: readonly OptionDef[]): readonly OptionDef[] {
  for (const def of defs) {
    for (const key of [def.name, ...(def.aliases ?? [])]) {
      const k = key.toLowerCase();
      const existing = registry.get(k);
      if (existing && existing !== def) throw new Error(`option "${key}" declared twice`);
      registry.set(k, def);
    }
    all.push(def);
  }
  return defs;
}

export function findOption(name: string): OptionDef | undefined {
  return registry.get(name.toLowerCase());
}

export function allOptions(): readonly OptionDef[] {
  return [...all].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The two ways socat words a number it cannot use: nothing numeric at the
 * start, or something left over after the number.
 */
function numericError(text: string, consumed: number, optionText: string): TsocatError | undefined {
  if (consumed === 0) return new TsocatError(`parseopts(): missing numerical value of option "${optionText}"`, 'EOPTVALUE');
  if (consumed < text.length) return new TsocatError(`parseopts(): trailing garbage in numerical arg of option "${optionText}"`, 'EOPTVALUE');
  return undefined;
}

/** C's strtoul(…, 0) (or base 8) read exactly: decimal, 0x hex or leading-0 octal; the whole text must be used. */
export function parseCInteger(text: string, optionText: string, base = 0): bigint {
  const m =
    base === 8
      ? text.match(/^\s*([+-]?)()([0-7]+)/)
      : (text.match(/^\s*([+-]?)(0[xX])([0-9a-fA-F]+)/) ?? text.match(/^\s*([+-]?)(0)([0-7]+)/) ?? text.match(/^\s*([+-]?)()(\d+)/));
  const error = numericError(text, m ? m[0].length : 0, optionText);
  if (error || !m) throw error;
  const prefix = base === 8 || m[2] === '0' ? '0o' : m[2] ? '0x' : '';
  const n = BigInt(prefix + (m[3] as string));
  return m[1] === '-' ? -n : n;
}

/** parseCInteger as a JavaScript number, for values whose range is checked elsewhere or does not matter. */
export function parseCNumber(text: string, optionText: string, base = 0): number {
  return Number(parseCInteger(text, optionText, base));
}

/**
 * A number that must fit a C type. Out of range is refused in socat's words for
 * its one checked type (TYPE_BYTE: "byte value exceeds limit"), and in the same
 * shape for the others.
 */
export function parseCTyped(text: string, optionText: string, ctype: CType, base = 0): number {
  const n = parseCInteger(text, optionText, base);
  const [min, max] = C_LIMITS[ctype];
  if (n > max) {
    const what = ctype === 'byte' ? 'byte value' : 'value';
    throw new TsocatError(`parseopts(): option "${optionText}": ${what} exceeds limit (${n} vs. ${max})`, 'EOPTVALUE');
  }
  if (n < min) {
    // unsigned types take no sign, as the catalog has always refused
    if (min === 0n) throw new TsocatError(`parseopts(): negative value in option "${optionText}"`, 'EOPTVALUE');
    throw new TsocatError(`parseopts(): option "${optionText}": value below limit (${n} vs. ${min})`, 'EOPTVALUE');
  }
  return Number(n);
}

/**
 * The longest wait a Node timer keeps (2^31-1 ms, about 24.8 days); a longer
 * one fires after 1 ms with a warning, so it is refused where it is read.
 */
export const MAX_TIMEVAL_SECONDS = 2147483.647;

/** strtod-like: seconds with an optional fraction. */
export function parseTimeval(text: string, optionText: string, limit = MAX_TIMEVAL_SECONDS): number {
  const m = text.match(/^\s*\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/);
  const error = numericError(text, m ? m[0].length : 0, optionText);
  if (error || !m) throw error;
  const seconds = Number(m[0]);
  if (!(seconds <= limit)) throw new TsocatError(`parseopts(): option "${optionText}": value exceeds limit (${text.trim()} vs. ${limit})`, 'EOPTVALUE');
  return seconds;
}

/**
 * socat's two-number values (`<int>:<int>`, `<int>:<ulong>`), kept as the
 * text "<n>:<n>" in decimal. A ulong is taken as strtoul takes it (-1 is all
 * ones, too large is the largest); the consumer cuts it to the width it needs.
 */
function parseNumberPair(v: string, text: string, def: OptionDef): string {
  const colon = v.indexOf(':');
  const isNumber = (part: string) => {
    try {
      parseCNumber(part, text);
      return true;
    } catch {
      return false;
    }
  };
  // as socat: a lone number lacks its partner; anything else before the colon is no number at all
  if (colon < 0 && isNumber(v)) throw new TsocatError(`parseopts(): option "${def.name}": 2 arguments required`, 'EOPTVALUE');
  if (colon < 0 || !isNumber(v.slice(0, colon))) throw new TsocatError(`parseopts(): missing numerical value of option "${text}"`, 'EOPTVALUE');
  const first = parseCTyped(v.slice(0, colon), text, 'int');
  if (def.type === 'int:int') return `${first}:${parseCTyped(v.slice(colon + 1), text, 'int')}`;
  const second = parseCInteger(v.slice(colon + 1), text);
  const ulong = second > C_LIMITS.size_t[1] ? C_LIMITS.size_t[1] : BigInt.asUintN(64, second);
  return `${first}:${ulong}`;
}

function typedValue(def: OptionDef, spec: OptionSpec): OptionValue {
  const text = spec.value === undefined ? spec.name : `${spec.name}=${spec.value}`;
  const v = spec.value;
  // emptyValue also stands for a value left out, for the few options socat lets go without one (unix-bind-tempname)
  if ((v === '' || (v === undefined && def.type === 'string')) && def.emptyValue !== undefined) return def.emptyValue;
  switch (def.type) {
    case 'const':
      if (v !== undefined) throw new TsocatError(`no value permitted for option "${def.name}"`, 'EOPTVALUE');
      return true;
    case 'bool':
      if (v === undefined) return true;
      if (/^(yes|true)$/i.test(v)) return true;
      if (/^(no|false)$/i.test(v)) return false;
      return parseCNumber(v, text) !== 0;
    case 'int':
    case 'uint':
    case 'size': {
      if (v === undefined) return 1;
      const n = parseCTyped(v, text, def.ctype ?? (DEFAULT_CTYPE[def.type] as CType));
      // a size is never negative, even where the C type is a signed int (so-rcvbuf)
      if (def.type === 'size' && n < 0) throw new TsocatError(`parseopts(): negative value in option "${text}"`, 'EOPTVALUE');
      return n;
    }
    case 'mode':
      if (v === undefined) throw new TsocatError(`option "${spec.name}": value required`, 'EOPTVALUE');
      return parseCTyped(v, text, 'uint', 8);
    case 'timeval':
      if (v === undefined) throw new TsocatError(`option "${spec.name}": value required`, 'EOPTVALUE');
      return parseTimeval(v, text);
    case 'int:int':
    case 'int:ulong':
      if (v === undefined) throw new TsocatError(`option "${spec.name}": values required`, 'EOPTVALUE');
      return parseNumberPair(v, text, def);
    case 'user':
    case 'group':
    case 'string':
    case 'filename':
      if (v === undefined) throw new TsocatError(`option "${spec.name}": value required`, 'EOPTVALUE');
      def.check?.(v, text);
      return v;
  }
}

/**
 * Validates an address's option texts against the catalog: unknown names,
 * options outside the address's groups (unless `ignoreGroups`, i.e. `-g`),
 * and values of the wrong type are refused with socat's wording. With
 * `sloppy` (-s) such an option is handed to it instead and left out, and the
 * others still count, as socat goes on after the error line.
 */
export function resolveOptions(
  specs: readonly OptionSpec[],
  groups: readonly OptionGroup[],
  ignoreGroups = false,
  sloppy?: (spec: OptionSpec, refusal: TsocatError) => void,
): ResolvedOptions {
  const out = new ResolvedOptions();
  for (const spec of specs) {
    let def: OptionDef;
    let value: OptionValue;
    try {
      ({ def, value } = checkedOption(spec, groups, ignoreGroups));
    } catch (err) {
      if (!sloppy || !(err instanceof TsocatError)) throw err;
      sloppy(spec, err);
      continue;
    }
    traceUse(def.name);
    // the ablation check: validated as usual, then treated as absent
    if (isAblated(def.name)) continue;
    if (def.repeatable) out.append(def.name, String(value));
    else out.set(def.name, value);
  }
  return out;
}

/** One option's catalog row and typed value, or socat's refusal. */
function checkedOption(spec: OptionSpec, groups: readonly OptionGroup[], ignoreGroups: boolean): { def: OptionDef; value: OptionValue } {
  const def = findOption(spec.name);
  if (!def) throw new TsocatError(`parseopts_table(): unknown option "${spec.name}"`, 'ENOOPT');
  // ADDR and, as socat's GROUP_ANY, PROCESS options go with every address
  if (!ignoreGroups && !def.groups.some((g) => g === 'ADDR' || g === 'PROCESS' || groups.includes(g))) {
    throw new TsocatError(`parseopts_table(): option "${spec.name}" not supported with this address type`, 'EOPTGROUP');
  }
  if (def.unavailable) throw new TsocatError(`option "${spec.name}": ${def.unavailable}`, 'EOPTUNAVAILABLE');
  return { def, value: typedValue(def, spec) };
}
