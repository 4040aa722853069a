/**
 * A worker of a --workers team: it knows it is one from its environment
 * (taken out at once, so programs it starts are not workers), takes the
 * listening socket its parent handed it, asks the parent for max-children's
 * slots, and stops when the parent is gone.
 */
import { INHERITED_FD, type MemberPlan, type SlotMessage, WORKER_ENV } from './plan.js';
import type { Slots } from './slots.js';

/** This process's part when a --workers parent started it, else undefined. */
export async function memberPlan(): Promise<MemberPlan | undefined> {
  const text = process.env[WORKER_ENV];
  if (text === undefined) return undefined;
  delete process.env[WORKER_ENV];
  const id = Number(text);
  if (!Number.isInteger(id) || id < 1 || typeof process.send !== 'function') return undefined;
  // programs the worker starts for peers do not inherit the listening socket, as with one process
  const { setCloseOnExec } = await import('../../sys/libc.js');
  setCloseOnExec(INHERITED_FD, true);
  // the channel does not keep the worker alive; the parent gone ends it as SIGTERM ends one process
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  return { role: 'worker', id, fd: INHERITED_FD };
}

/** max-children's slots, asked of the parent, which counts every process's sessions (team.ts). */
export function memberSlots(): Slots {
  const granted: Array<() => void> = [];
  process.on('message', (m: SlotMessage) => {
    if (m.slot === 'granted') granted.shift()?.();
  });
  const send = (m: SlotMessage) => {
    if (process.connected) process.send?.(m);
  };
  return {
    acquire() {
      return new Promise<void>((resolve) => {
        granted.push(resolve);
        send({ slot: 'acquire' });
      });
    },
    release: () => send({ slot: 'release' }),
  };
}
