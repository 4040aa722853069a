/**
 * socat's PROCESS options that change who the process is and what it sees:
 * su/substuser, su-d/substuser-delayed, su-e/substuser-early, setuid(-early),
 * setgid(-early), chroot(-early), and setsid.
 *
 * Every address takes them, as in socat. The "-early" ones act before the
 * address opens; the others once it is open (a listener: once it is bound and
 * listening, so a low port can still be bound as root). socat applies the late
 * ones in the child it forks for each peer; tsocat serves peers inside one
 * process, so they apply to the whole of tsocat, once. An address that starts
 * a program (EXEC, SYSTEM, SHELL) gives the late ones to the program instead,
 * as socat's child does before exec().
 *
 * Users and groups are looked up when the options are checked, before
 * anything opens (socat looks names up while parsing): a chroot must not hide
 * /etc/passwd from su-d, and a bad name must fail before a peer is served.
 */
import { readFileSync } from 'node:fs';
import { parseCNumber, type ResolvedOptions } from '../../../options/catalog.js';
import { systemError, TsocatError } from '../../errors.js';

interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** One change, in the order socat makes them. */
export type PrivilegeStep =
  | { kind: 'chroot'; dir: string }
  | { kind: 'setsid' }
  | { kind: 'setuid'; uid: number }
  | { kind: 'setgid'; gid: number }
  /** su, su-e, su-d: supplementary groups, group, user, then USER/LOGNAME/HOME/SHELL. */
  | { kind: 'user'; account: Account; groups: number[] };

export interface Privileges {
  /** Before the address opens (socat's phase EARLY). */
  early: PrivilegeStep[];
  /** Once it is open (phases LATE, then LATE2, then su-d). */
  late: PrivilegeStep[];
}

const EARLY = ['substuser-early', 'setuid-early', 'setgid-early', 'chroot-early'];
/** socat's phase LATE comes before LATE2, whatever the order on the command line. */
const LATE = ['chroot', 'setsid'];
const LATE2 = ['su', 'setuid', 'setgid'];

function table(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

function accountOf(f: string[]): Account {
  return { name: f[0] as string, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/', shell: f[6] ?? '/bin/sh' };
}

/** A number as socat reads a uid/gid (strtoul base 0, the whole value), or undefined for a name. */
function numericId(value: string, optionText: string): number | undefined {
  return /^\d/.test(value) ? parseCNumber(value, optionText) : undefined;
}

/** A user option's value as socat takes it: a number is a uid as it stands, a name is looked up. */
function uidOf(value: string, optionText: string): number {
  const n = numericId(value, optionText);
  if (n !== undefined) return n;
  const f = table('/etc/passwd').find((row) => row[0] === value);
  if (!f) throw new TsocatError(`getpwnam("${value}"): no such user`, 'ENOUSER');
  return Number(f[2]);
}

function gidOf(value: string, optionText: string): number {
  const n = numericId(value, optionText);
  if (n !== undefined) return n;
  const f = table('/etc/group').find((row) => row[0] === value);
  if (!f) throw new TsocatError(`getgrnam("${value}"): no such group`, 'ENOGROUP');
  return Number(f[2]);
}

/** su needs the whole account: its groups, home and shell (socat's getpwuid, then initgroups). */
function userStep(value: string, optionText: string): PrivilegeStep {
  const uid = uidOf(value, optionText);
  const row = table('/etc/passwd').find((r) => Number(r[2]) === uid);
  if (!row) throw new TsocatError(`getpwuid(${uid}): no such user`, 'ENOUSER');
  const account = accountOf(row);
  const groups = new Set([account.gid]);
  for (const g of table('/etc/group')) if ((g[3] ?? '').split(',').includes(account.name)) groups.add(Number(g[2]));
  return { kind: 'user', account, groups: [...groups] };
}

function stepFor(name: string, value: string): PrivilegeStep {
  const text = `${name}=${value}`;
  switch (name) {
    case 'chroot':
    case 'chroot-early':
      return { kind: 'chroot', dir: value };
    case 'setsid':
      return { kind: 'setsid' };
    case 'setuid':
    case 'setuid-early':
      return { kind: 'setuid', uid: uidOf(value, text) };
    case 'setgid':
    case 'setgid-early':
      return { kind: 'setgid', gid: gidOf(value, text) };
    default:
      return userStep(value, text);
  }
}

/** The steps an address's options ask for, with every name resolved; throws socat's message for a bad one. */
export function privilegesOf(options: ResolvedOptions): Privileges {
  const given = options.names();
  const steps = (names: string[]) =>
    given.filter((n) => names.includes(n) && (n !== 'setsid' || options.bool('setsid'))).map((n) => stepFor(n, options.string(n) as string));
  const delayed = options.string('substuser-delayed');
  return {
    early: steps(EARLY),
    late: [...steps(LATE), ...steps(LATE2), ...(delayed !== undefined ? [stepFor('substuser-delayed', delayed)] : [])],
  };
}

function attempt(call: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    throw systemError(call, err);
  }
}

/** Applies steps to tsocat itself. */
export async function applyToSelf(steps: readonly PrivilegeStep[]): Promise<void> {
  for (const step of steps) {
    switch (step.kind) {
      case 'chroot': {
        const { changeRoot } = await import('../../sys/libc.js');
        changeRoot(step.dir);
        attempt('chdir("/")', () => process.chdir('/'));
        break;
      }
      case 'setsid': {
        const { newSession } = await import('../../sys/libc.js');
        newSession();
        break;
      }
      case 'setgid':
        attempt(`setgid(${step.gid})`, () => process.setgid?.(step.gid));
        break;
      case 'setuid':
        attempt(`setuid(${step.uid})`, () => process.setuid?.(step.uid));
        break;
      case 'user': {
        const { account, groups } = step;
        attempt(`initgroups(${account.name}, ${account.gid})`, () => process.setgroups?.(groups));
        attempt(`setgid(${account.gid})`, () => process.setgid?.(account.gid));
        attempt(`setuid(${account.uid})`, () => process.setuid?.(account.uid));
        Object.assign(process.env, userEnvironment(account));
        break;
      }
    }
  }
}

/** What socat's su sets in the environment, for the rest of the run and the programs it starts. */
export function userEnvironment(account: Account): Record<string, string> {
  return { USER: account.name, LOGNAME: account.name, HOME: account.home, SHELL: account.shell };
}

/**
 * The launcher's arguments for steps a program takes before exec (see
 * process-group-launcher.ts), and the environment they imply.
 */
export function programSteps(steps: readonly PrivilegeStep[]): { args: string[]; env: Record<string, string> } {
  const args: string[] = [];
  let env: Record<string, string> = {};
  for (const step of steps) {
    if (step.kind === 'chroot') args.push(`chroot=${step.dir}`);
    if (step.kind === 'setgid') args.push(`gid=${step.gid}`);
    if (step.kind === 'setuid') args.push(`uid=${step.uid}`);
    if (step.kind === 'user') {
      args.push(`groups=${step.groups.join(',')}`, `gid=${step.account.gid}`, `uid=${step.account.uid}`);
      env = { ...env, ...userEnvironment(step.account) };
    }
  }
  return { args, env };
}

const resolved = new WeakMap<object, Privileges>();

/** privilegesOf, once per parsed address (its spec): the first call checks the names, later ones reuse them. */
export function privilegesFor(spec: object, options: ResolvedOptions): Privileges {
  let p = resolved.get(spec);
  if (!p) {
    p = privilegesOf(options);
    resolved.set(spec, p);
  }
  return p;
}

/**
 * Applied once per address per run: the first open changes the whole
 * process, and a second chroot or su (now as another user) would fail or
 * mean something else. Keyed by the address's parsed spec.
 */
const done = new WeakMap<object, Map<'early' | 'late', Promise<void>>>();

export function applyOnce(key: object, phase: 'early' | 'late', steps: readonly PrivilegeStep[]): Promise<void> {
  if (steps.length === 0) return Promise.resolve();
  const phases = done.get(key) ?? new Map<'early' | 'late', Promise<void>>();
  done.set(key, phases);
  // sessions opening the same address at once wait for the one change
  let applying = phases.get(phase);
  if (!applying) {
    applying = applyToSelf(steps);
    phases.set(phase, applying);
  }
  return applying;
}
