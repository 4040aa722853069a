/**
 * The parent of a --workers team: starts the workers with the listening
 * socket, passes on the signals the command handles, hands out max-children's
 * slots, and waits for the workers when the relay ends. A worker that ends on
 * its own ends the team, as the end of a one-process server ends it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { TsocatError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { INHERITED_FD, type SlotMessage, type TeamPlan, WORKER_ENV } from './plan.js';
import { type Slots, slotPool } from './slots.js';

export interface Team {
  /** The parent's own slots (undefined without max-children). */
  slots?: Slots;
  /** Set when a worker ended on its own: why the team stopped. */
  failure(): TsocatError | undefined;
  /** Stops the workers still running (SIGTERM) and waits for every one to end. */
  stop(): Promise<void>;
}

interface Worker {
  id: number;
  child: ChildProcess;
  exited: Promise<void>;
  /** Slots this worker holds: given back if it ends. */
  held: number;
}

function statusOf(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `status ${code}`;
}

/**
 * Starts `plan.count − 1` workers over `listenFd`. `lost` is called once when
 * a worker ends while the team runs (the relay then stops).
 */
export function startTeam(listenFd: number, plan: TeamPlan, how: { log: Logger; maxChildren: number; lost: () => void }): Team {
  const { log } = how;
  const pool = how.maxChildren ? slotPool(how.maxChildren) : undefined;
  const workers: Worker[] = [];
  let stopping = false;
  let failure: TsocatError | undefined;

  const onSlot = (w: Worker, m: SlotMessage) => {
    if (!pool) return;
    if (m.slot === 'release' && w.held > 0) {
      w.held--;
      pool.release();
    } else if (m.slot === 'acquire') {
      void pool.acquire().then(() => {
        w.held++;
        // a worker that ended meanwhile does not take the slot with it
        if (!w.child.connected) return giveBack(w);
        // a channel closing meanwhile: the worker's exit gives the slot back
        w.child.send({ slot: 'granted' } satisfies SlotMessage, (err) => err && giveBack(w));
      });
    }
  };
  const giveBack = (w: Worker) => {
    for (; w.held > 0; w.held--) pool?.release();
  };

  for (let id = 1; id < plan.count; id++) {
    const child = spawn(process.execPath, [...process.execArgv, plan.script, ...plan.argv], {
      stdio: ['inherit', 'inherit', 'inherit', listenFd, 'ipc'],
      env: { ...process.env, [WORKER_ENV]: String(id) },
    });
    const w: Worker = { id, child, held: 0, exited: Promise.resolve() };
    w.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        giveBack(w);
        if (!stopping && !failure) {
          failure = new TsocatError(`worker ${id} (pid ${child.pid}) ended with ${statusOf(code, signal)}`, 'EWORKER', {
            exitStatus: signal ? 128 + signalNumber(signal) : code || 1,
          });
          how.lost();
        }
        resolve();
      });
      child.once('error', (err) => {
        if (!failure) {
          failure = new TsocatError(`worker ${id}: ${err.message}`, 'EWORKER');
          how.lost();
        }
        resolve();
      });
    });
    child.on('message', (m: SlotMessage) => onSlot(w, m));
    log.log('I', `worker ${id} started with pid ${child.pid}, listening descriptor ${INHERITED_FD}`);
    workers.push(w);
  }

  const pass = (signal: NodeJS.Signals) => () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill(signal);
  };
  const passers = plan.signals.map((signal) => [signal, pass(signal)] as const);
  for (const [signal, passer] of passers) process.on(signal, passer);
  // the parent gone (exit at the signal's deadline, a crash): no worker outlives it
  const killAll = () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  };
  process.on('exit', killAll);

  return {
    slots: pool && { acquire: () => pool.acquire(), release: () => pool.release() },
    failure: () => failure,
    async stop() {
      stopping = true;
      pass('SIGTERM')();
      await Promise.all(workers.map((w) => w.exited));
      for (const [signal, passer] of passers) process.off(signal, passer);
      process.off('exit', killAll);
    },
  };
}

function signalNumber(signal: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}
