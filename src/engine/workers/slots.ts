/**
 * max-children as slots: a fork server takes a slot before it accepts a peer
 * and gives it back when that peer's session ends, so sessions running plus
 * peers being accepted never pass the limit. With --workers the parent holds
 * the one pool and its workers ask it for slots (team.ts, member.ts): the
 * limit counts every process's sessions, and a process without a slot stops
 * accepting, leaving peers in the kernel's backlog.
 */

export interface Slots {
  /** Resolves once a slot is this caller's. */
  acquire(): Promise<void>;
  /** Gives one slot back. */
  release(): void;
}

/** A pool of `max` slots handed out first come, first served. */
export function slotPool(max: number): Slots & { held(): number } {
  let free = max;
  const waiting: Array<() => void> = [];
  return {
    acquire() {
      if (free > 0 && waiting.length === 0) {
        free--;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    release() {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
    held: () => max - free,
  };
}
