/**
 * A fork listener served by a --workers team: what is refused before
 * anything opens, and the serving itself (the parent starts the workers and
 * waits for them; a worker takes its slots from the parent).
 */
import { TsocatError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { AddressPlugin, AddressRequest } from '../context.js';
import { AUTO_CERTIFICATE } from '../handshakes/self-signed.js';
import type { Listener } from '../endpoint.js';
import { memberSlots } from './member.js';
import type { WorkersPlan } from './plan.js';
import type { Slots } from './slots.js';

/** What --workers needs of address 1, refused in socat's way before anything opens. */
export function refuseWorkers(form: { fork: boolean; broker: boolean; acceptTimeout: number; plugin?: AddressPlugin; request?: AddressRequest }): void {
  if (!form.fork) throw new TsocatError('option --workers not allowed without option fork on address 1', 'EUSAGE');
  if (form.broker) throw new TsocatError('option --workers not allowed with option broker', 'EUSAGE');
  // each process would time out on its own: not what accept-timeout means for one server
  if (form.acceptTimeout) throw new TsocatError('option --workers not allowed with option accept-timeout', 'EUSAGE');
  if (!form.plugin?.workers) {
    throw new TsocatError(`option --workers needs address 1 to listen for connections (TCP-LISTEN, UNIX-LISTEN, OPENSSL-LISTEN, …), not ${form.request?.keyword ?? 'a dual address'}`, 'EUSAGE');
  }
  // peers pinning the certificate the parent logged would meet another one at a worker
  if (form.request?.options.string('openssl-certificate') === AUTO_CERTIFICATE) {
    throw new TsocatError('option --workers not allowed with cert=auto: each process would make a certificate of its own', 'EUSAGE');
  }
}

/**
 * Runs `serve` (the fork loop) as this process's part of the team. The parent
 * hands the listener's socket to its workers, waits for them once its own loop
 * ends, and fails with the reason when a worker ended on its own.
 */
export async function serveAsTeam(
  plan: WorkersPlan,
  listener: Listener,
  how: { log: Logger; maxChildren: number; stop: () => void },
  serve: (slots: Slots | undefined) => Promise<number>,
): Promise<number> {
  if (plan.role === 'worker') return serve(how.maxChildren ? memberSlots() : undefined);
  if (plan.count < 2) return serve(undefined);
  if (listener.listeningFd === undefined) throw new TsocatError(`${listener.description}: no listening socket to share with --workers`, 'EUSAGE');
  // node:child_process only for a team: a relay without --workers does not load it
  const { startTeam } = await import('./team.js');
  const team = startTeam(listener.listeningFd, plan, { log: how.log, maxChildren: how.maxChildren, lost: how.stop });
  let status: number;
  try {
    status = await serve(team.slots);
  } finally {
    await team.stop();
  }
  const failure = team.failure();
  if (failure) throw failure;
  return status;
}
