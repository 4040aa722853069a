/** --statistics / SIGUSR1: bytes and blocks moved in each direction, worded as socat 1.8 logs them. */
import type { Logger } from '../../log/logger.js';

interface Count {
  bytes: number;
  blocks: number;
}

export class Statistics {
  private readonly counts = { ltr: { bytes: 0, blocks: 0 }, rtl: { bytes: 0, blocks: 0 } };

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

  counter(leftToRight: boolean): (data: Buffer) => void {
    const count = this.byteCounter(leftToRight);
    return (data) => count(data.length);
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
