/**
 * --workers: what a process of a team is told. The parent opens address 1
 * (one bind, its errors reported once), then starts count − 1 workers, each
 * the same command line again, handed the listening socket as descriptor 3
 * and a channel to the parent (team.ts); a worker takes that socket instead
 * of making one (member.ts), and every process accepts from it.
 */

/** The parent's plan: how many processes serve in all (itself included), and how to start the others. */
export interface TeamPlan {
  role: 'parent';
  count: number;
  /** The command's script and its arguments, as the parent was started: each worker parses the same flags and addresses. */
  script: string;
  argv: readonly string[];
  /** The signals the command handles: each is passed on to every worker as it arrives. */
  signals: readonly NodeJS.Signals[];
}

/** A worker's part: its number (1…count − 1) and the listening descriptor it inherited. */
export interface MemberPlan {
  role: 'worker';
  id: number;
  fd: number;
}

export type WorkersPlan = TeamPlan | MemberPlan;

/** The environment variable that makes a tsocat process a worker: its number. */
export const WORKER_ENV = 'TSOCAT_WORKER';
/** Where a worker finds the listening socket. */
export const INHERITED_FD = 3;

/** Messages on the parent–worker channel: max-children's slots. */
export type SlotMessage = { slot: 'acquire' } | { slot: 'release' } | { slot: 'granted' };
