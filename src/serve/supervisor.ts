/**
 * The relays of one service file, running in this process: each is the
 * engine's relay() (the same as `tsocat A1 A2`) with a signal of its own, so
 * that a reload can stop one relay, and only that one, and its sessions with it.
 */
import type { Statistics } from '../engine/relay/statistics.js';
import { relay } from '../engine/relay/relay.js';
import { TsocatError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { CheckedRelay } from './relay-check.js';
import { relayLogger } from './relay-log.js';

/** How long a start or reload waits for its relays' first addresses before it calls itself done (READY=1). */
const UP_WITHIN_MS = 5000;

/** What decides whether a relay changed: its text, not its place in the file. */
function relayKey(r: CheckedRelay): string {
  const { address1, address2, flags } = r.definition;
  return JSON.stringify([address1, address2, flags]);
}

interface Running {
  checked: CheckedRelay;
  key: string;
  /** Stops the relay at once (SIGTERM). */
  controller: AbortController;
  /** Stops it gently (a reload): the listener closes, sessions end within -t. */
  windDown: AbortController;
  /** Settles when the relay has stopped: its listener closed and every session ended. */
  done: Promise<void>;
  ended: boolean;
}

export interface ApplyOutcome {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

/** Per-relay hooks (the metrics): the counters a relay's sessions feed, and its lifecycle. */
export interface RelayObserver {
  statsFor?(name: string): Statistics | undefined;
  relayStarted?(name: string): void;
  relayFailed?(name: string, err: TsocatError): void;
}

export class Supervisor {
  private readonly running = new Map<string, Running>();
  /** Relays a reload removed whose sessions are still winding down. */
  private readonly leaving = new Set<Running>();

  constructor(
    private readonly log: Logger,
    private readonly observer: RelayObserver = {},
  ) {}

  /** Brings the running relays in line with `relays` (the enabled ones of a checked file). */
  async apply(relays: readonly CheckedRelay[]): Promise<ApplyOutcome> {
    const wanted = new Map(relays.filter((r) => r.definition.enabled).map((r) => [r.definition.name, r]));
    const outcome: ApplyOutcome = { added: [], removed: [], changed: [], unchanged: [] };
    const stopping: Promise<void>[] = [];
    for (const [name, run] of this.running) {
      const next = wanted.get(name);
      if (next && relayKey(next) === run.key && !run.ended) {
        outcome.unchanged.push(name);
        wanted.delete(name);
        continue;
      }
      if (next) {
        outcome.changed.push(name);
        // a changed relay's listener must have let go of its port before the new one binds it
        stopping.push(this.stop(name));
      } else {
        outcome.removed.push(name);
        // a removed one's sessions end within -t, while everything else goes on
        void this.stop(name);
      }
    }
    await Promise.all(stopping);
    const starting: Promise<void>[] = [];
    for (const [name, r] of wanted) {
      if (!outcome.changed.includes(name)) outcome.added.push(name);
      starting.push(this.start(r));
    }
    await this.upWithin(starting, UP_WITHIN_MS);
    return outcome;
  }

  /** Stops every relay at once, and those still winding down (SIGTERM). */
  async stopAll(): Promise<void> {
    const all = [...this.running.values(), ...this.leaving];
    this.running.clear();
    for (const run of all) run.controller.abort();
    await Promise.all(all.map((run) => run.done));
  }

  get names(): string[] {
    return [...this.running.keys()];
  }

  /** Waits until every relay started is up (or has failed), at most `ms`: readiness should mean listening, but one slow relay must not hold the rest. */
  private async upWithin(starting: Promise<void>[], ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => {
      timer = setTimeout(() => r('late'), ms);
    });
    const outcome = await Promise.race([Promise.all(starting), late]);
    clearTimeout(timer);
    if (outcome === 'late') this.log.log('W', `not every relay opened its first address within ${ms / 1000} s; serving the others meanwhile`);
  }

  /** Starts a relay; resolves once its address 1 is open, or it has ended. */
  private start(checked: CheckedRelay): Promise<void> {
    const { name } = checked.definition;
    const log = relayLogger(this.log, name, checked.threshold);
    const controller = new AbortController();
    const windDown = new AbortController();
    let up!: () => void;
    const opened = new Promise<void>((r) => {
      up = r;
    });
    const run: Running = { checked, key: relayKey(checked), controller, windDown, done: Promise.resolve(), ended: false };
    run.done = relay(checked.spec1, checked.spec2, {
      settings: checked.settings,
      log,
      signal: controller.signal,
      windDown: windDown.signal,
      onOpened: () => up(),
      registry: checked.registry,
      stats: this.observer.statsFor?.(name),
    }).then(
      (status) => {
        if (!controller.signal.aborted && !windDown.signal.aborted) log.always(status === 0 ? 'N' : 'W', `relay ended with status ${status}; a reload starts it again`);
      },
      (err: unknown) => {
        const e = err instanceof TsocatError ? err : new TsocatError(`internal error: ${(err as Error)?.message ?? String(err)}`, 'EINTERNAL');
        if (!controller.signal.aborted && !windDown.signal.aborted) {
          log.always(e.level, `${e.message}; relay stopped, a reload starts it again`);
          this.observer.relayFailed?.(name, e);
        }
      },
    ).finally(() => {
      run.ended = true;
      up();
    });
    this.running.set(name, run);
    this.observer.relayStarted?.(name);
    this.log.log('I', `relay "${name}" started: ${checked.definition.address1} ${checked.definition.address2}`);
    return opened;
  }

  /** Winds a relay down: no new peers, its sessions end within -t; resolves once they have. */
  private async stop(name: string): Promise<void> {
    const run = this.running.get(name);
    if (!run) return;
    this.running.delete(name);
    this.leaving.add(run);
    run.windDown.abort();
    await run.done;
    this.leaving.delete(run);
    this.log.log('I', `relay "${name}" stopped`);
  }
}
