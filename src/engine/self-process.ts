/**
 * PROCESS options given to an address that is tsocat's own (STDIO): socat
 * applies them to itself once the address is open — a new session, a new
 * process group, or another user for the rest of the run.
 */
import type { ResolvedOptions } from '../../options/catalog.js';
import { lookupUser } from './fdopts.js';

export async function applyProcessOptionsToSelf(options: ResolvedOptions): Promise<void> {
  if (options.bool('setsid') || options.bool('setpgid')) {
    const { newProcessGroup, newSession } = await import('../sys/libc.js');
    if (options.bool('setsid')) newSession();
    else newProcessGroup();
  }
  const su = options.string('su');
  if (su !== undefined) {
    const { uid, gid } = lookupUser(su);
    // group first: once the user changes, changing groups is no longer allowed
    process.setgid?.(gid);
    process.setuid?.(uid);
  }
}
