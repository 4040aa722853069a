/** --statistics / SIGUSR1: bytes and blocks moved in each direction. */
import type { Logger } from '../log/logger.js';

export class Statistics {
  private readonly counts = { ltr: { bytes: 0, blocks: 0 }, rtl: { bytes: 0, blocks: 0 } };

  counter(leftToRight: boolean): (data: Buffer) => void {
    const c = leftToRight ? this.counts.ltr : this.counts.rtl;
    return (data) => {
      c.bytes += data.length;
      c.blocks++;
    };
  }

  /** Printed whatever the log level, as socat prints its statistics (on request or SIGUSR1). */
  report(log: Logger, always = true): void {
    const { ltr, rtl } = this.counts;
    const text = `statistics: left to right: ${ltr.bytes} bytes in ${ltr.blocks} blocks; right to left: ${rtl.bytes} bytes in ${rtl.blocks} blocks`;
    if (always && !log.enabled('N')) process.stderr.write(`${text}\n`);
    else log.log('N', text);
  }
}
