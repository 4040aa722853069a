/**
 * A relay's counters: bytes and blocks moved in each direction (--statistics
 * and SIGUSR1, worded as socat 1.8 logs them), and, for `tsocat serve`'s
 * metrics and the JSON session line, sessions open and ended, errors by kind
 * and reconnections.
 */
import { type Logger, monotonicMs } from '../../log/logger.js';

interface Count {
  bytes: number;
  blocks: number;
}

/** Why a session ended. */
export type EndReason = 'eof' | 'close-timeout' | 'inactivity' | 'error' | 'peer-gone' | 'stopped';

/** What went wrong, for the errors counter: opening a peer's second address, reading, writing, a program's exit, the relay itself. */
export type ErrorKind = 'open' | 'read' | 'write' | 'program' | 'relay';

/** One ended session, as the JSON session line reports it. */
export interface SessionSummary {
  peer: string;
  durationMs: number;
  bytesLeftToRight: number;
  bytesRightToLeft: number;
  reason: EndReason;
  status: number;
  error?: string;
}

/** One session's byte counts, feeding its relay's too. */
export class SessionCounts {
  leftToRight = 0;
  rightToLeft = 0;
  readonly started = monotonicMs();
  constructor(private readonly relay: Statistics) {}

  /** Counts a block of `bytes` in one direction, for this session and its relay. */
  byteCounter(leftToRight: boolean): (bytes: number) => void {
    const relayCount = this.relay.byteCounter(leftToRight);
    return leftToRight
      ? (bytes) => {
          this.leftToRight += bytes;
          relayCount(bytes);
        }
      : (bytes) => {
          this.rightToLeft += bytes;
          relayCount(bytes);
        };
  }
}

export class Statistics {
  private readonly counts = { ltr: { bytes: 0, blocks: 0 }, rtl: { bytes: 0, blocks: 0 } };
  sessionsOpen = 0;
  sessionsTotal = 0;
  reconnects = 0;
  readonly errors = new Map<ErrorKind, number>();

  /** `parent`: the relay's counters, which a session's own counters add to as they count. */
  constructor(private readonly parent?: Statistics) {}

  /** Counters for one session of a forking relay, counted into these too (its end line gives its own bytes). */
  forSession(): Statistics {
    return new Statistics(this);
  }

  /** Bytes moved so far in one direction. */
  bytes(leftToRight: boolean): number {
    return (leftToRight ? this.counts.ltr : this.counts.rtl).bytes;
  }

  /** A session starts: its own byte counts, which feed these; the session counts go to the relay's counters above too. */
  openSession(): SessionCounts {
    for (let s: Statistics | undefined = this; s; s = s.parent) {
      s.sessionsOpen++;
      s.sessionsTotal++;
    }
    return new SessionCounts(this);
  }

  /** A session has ended (with an error of `errorKind`, if it failed). */
  closeSession(errorKind?: ErrorKind): void {
    for (let s: Statistics | undefined = this; s; s = s.parent) s.sessionsOpen--;
    if (errorKind) this.countError(errorKind);
  }

  countError(kind: ErrorKind): void {
    for (let s: Statistics | undefined = this; s; s = s.parent) s.errors.set(kind, (s.errors.get(kind) ?? 0) + 1);
  }

  /** Counts one block of `bytes` (the zero-copy path never sees the data, only how much moved). */
  byteCounter(leftToRight: boolean): (bytes: number) => void {
    const c = leftToRight ? this.counts.ltr : this.counts.rtl;
    const alsoParent = this.parent?.byteCounter(leftToRight);
    return (bytes) => {
      c.bytes += bytes;
      c.blocks++;
      alsoParent?.(bytes);
    };
  }

  /**
   * One W line, then an I line per active direction, printed whatever -d says
   * (socat lifts its threshold for them). Numbers are padded to a common
   * width so the two lines align.
   */
  report(log: Logger, directions: { leftToRight: boolean; rightToLeft: boolean } = { leftToRight: true, rightToLeft: true }): void {
    const { ltr, rtl } = this.counts;
    const blockWidth = String(Math.max(ltr.blocks, rtl.blocks)).length;
    const byteWidth = String(Math.max(ltr.bytes, rtl.bytes)).length;
    const line = (name: string, c: Count) =>
      `STATISTICS: ${name}: ${String(c.blocks).padStart(blockWidth)} packets(s), ${String(c.bytes).padStart(byteWidth)} byte(s)`;
    log.always('W', 'statistics are experimental');
    if (directions.leftToRight) log.always('I', line('left to right', ltr));
    if (directions.rightToLeft) log.always('I', line('right to left', rtl));
  }
}
