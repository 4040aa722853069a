/**
 * How near the process is to its descriptor limit (RLIMIT_NOFILE), read from
 * /proc/self (Linux): a listener pauses accepting before accept() would fail
 * with EMFILE, as a forked socat never meets it. Elsewhere the room is
 * unknown and nothing pauses on it.
 */
import { readdirSync, readFileSync } from 'node:fs';

let limit: number | null | undefined;

/** The soft limit on open descriptors; undefined when unlimited or unknown. Node raises it at start-up, so it is read once, after. */
export function descriptorLimit(): number | undefined {
  if (limit === undefined) {
    try {
      const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
      limit = m ? Number(m[1]) : null;
    } catch {
      limit = null;
    }
  }
  return limit ?? undefined;
}

/** Descriptors open now against the limit; undefined when either is unknown. A table too full to list itself counts as full. */
export function descriptorUse(): { open: number; limit: number } | undefined {
  const max = descriptorLimit();
  if (max === undefined) return undefined;
  try {
    // the listing's own descriptor is open while it reads, and listed
    return { open: readdirSync('/proc/self/fd').length - 1, limit: max };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? { open: max, limit: max } : undefined;
  }
}
