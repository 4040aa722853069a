/**
 * One relay of a service file, checked without opening anything: its flags
 * through socat's own flag parser (src/cli/flags.ts), both addresses through
 * the grammar and the engine's validation, exactly as `tsocat A1 A2` checks
 * them before it opens address 1.
 */
import { loadRegistryFor } from '../../addresses/index.js';
import { parseCommandLine } from '../cli/flags.js';
import { DEFAULT_LOG_SIGNALS } from '../cli/signals.js';
import type { Registry, RelaySettings } from '../engine/context.js';
import type { AccessMode } from '../engine/endpoint.js';
import { validateAddress } from '../engine/opening/open.js';
import { TsocatError } from '../errors.js';
import { parseAddress } from '../grammar/parse.js';
import type { AddressSpec } from '../grammar/spec.js';
import { DEFAULT_LOG_CONFIG } from '../log/logger.js';
import type { FileProblem, RelayDefinition } from './service-file.js';

/** A relay ready to run: its definition, settings, log threshold, parsed addresses and the registry they were checked with. */
export interface CheckedRelay {
  definition: RelayDefinition;
  settings: RelaySettings;
  threshold: number;
  spec1: AddressSpec;
  spec2: AddressSpec;
  registry: Registry;
}

/** What a flag that belongs to the whole process does, for the refusal. */
function processWideFlag(cmd: ReturnType<typeof parseCommandLine>): string | undefined {
  const log = cmd.log;
  if (cmd.help) return '-h';
  if (cmd.version) return '-V';
  if (cmd.listSerial) return '--list-serial';
  if (cmd.lock) return cmd.lock.wait ? '-W' : '-L';
  if (cmd.logSignals !== DEFAULT_LOG_SIGNALS) return '-S';
  if (log.file !== undefined) return '-lf';
  if (log.syslogFacility !== undefined || log.mixedFacility !== undefined) return '-ly/-lm';
  if (log.program !== DEFAULT_LOG_CONFIG.program) return '-lp';
  if (log.micros !== DEFAULT_LOG_CONFIG.micros) return '-lu';
  if (log.withHost !== DEFAULT_LOG_CONFIG.withHost) return '-lh';
  if (log.format !== DEFAULT_LOG_CONFIG.format) return '--log-format';
  return undefined;
}

function modes(direction: RelaySettings['direction']): [AccessMode, AccessMode] {
  if (direction === 'left-to-right') return ['r', 'w'];
  if (direction === 'right-to-left') return ['w', 'r'];
  return ['rw', 'rw'];
}

/** Checks one relay; resolves with it ready to run, or with its problems (each placed on the line of the field at fault). */
export async function checkRelay(def: RelayDefinition, file: string): Promise<CheckedRelay | FileProblem[]> {
  const problem = (line: number, message: string): FileProblem[] => [{ file, line, relay: def.name, message }];
  let cmd: ReturnType<typeof parseCommandLine>;
  try {
    cmd = parseCommandLine(def.flags);
  } catch (err) {
    if (err instanceof TsocatError) return problem(def.lines.flags, `flags: ${err.message}`);
    throw err;
  }
  if (cmd.addresses.length > 0) return problem(def.lines.flags, `flags: "${cmd.addresses[0]}" is not a flag (the addresses go in address1 and address2)`);
  const wide = processWideFlag(cmd);
  if (wide) return problem(def.lines.flags, `flags: ${wide} applies to the whole process, not to one relay (give it to tsocat serve)`);

  const [mode1, mode2] = modes(cmd.settings.direction);
  const specs: AddressSpec[] = [];
  for (const [which, text, line] of [
    ['address1', def.address1, def.lines.address1],
    ['address2', def.address2, def.lines.address2],
  ] as const) {
    try {
      specs.push(parseAddress(text));
    } catch (err) {
      if (err instanceof TsocatError) return problem(line, `${which}: ${err.message}`);
      throw err;
    }
  }
  const [spec1, spec2] = specs as [AddressSpec, AddressSpec];
  const registry = await loadRegistryFor([spec1, spec2]);
  for (const [which, spec, mode, line] of [
    ['address1', spec1, mode1, def.lines.address1],
    ['address2', spec2, mode2, def.lines.address2],
  ] as const) {
    try {
      await validateAddress(spec, mode, { settings: cmd.settings, registry });
    } catch (err) {
      if (err instanceof TsocatError) return problem(line, `${which}: ${err.message}`);
      throw err;
    }
  }
  return { definition: def, settings: cmd.settings, threshold: cmd.log.threshold, spec1, spec2, registry };
}

/** Every relay of a file checked (a disabled one too: it is meant to run one day); the relays that passed, and every problem. */
export async function checkRelays(defs: readonly RelayDefinition[], file: string): Promise<{ relays: CheckedRelay[]; problems: FileProblem[] }> {
  const relays: CheckedRelay[] = [];
  const problems: FileProblem[] = [];
  for (const def of defs) {
    const r = await checkRelay(def, file);
    if (Array.isArray(r)) problems.push(...r);
    else relays.push(r);
  }
  return { relays, problems };
}
