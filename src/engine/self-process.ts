/**
 * PROCESS options given to an address that is tsocat's own (STDIO): socat
 * applies them to itself once the address is open — a new session, or
 * another user for the rest of the run. (setpgid is not one of them: socat
 * refuses it on STDIO, as it is a FORK option.)
 */
import type { ResolvedOptions } from '../../options/catalog.js';
import { lookupUser } from './fdopts.js';

export async function applyProcessOptionsToSelf(options: ResolvedOptions): Promise<void> {
  if (options.bool('setsid')) {
    const { newSession } = await import('../sys/libc.js');
    newSession();
  }
  const su = options.string('su');
  if (su !== undefined) {
    const { uid, gid } = lookupUser(su);
    // group first: once the user changes, changing groups is no longer allowed
    process.setgid?.(gid);
    process.setuid?.(uid);
  }
}
