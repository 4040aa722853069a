/** socat's cr / crnl conversions between an address's line ends and the relay's LF. */
import type { LineTerm } from '../endpoint.js';

const CR = 13;
const LF = 10;

/**
 * Converts a block read from an address with line ends `from` for an address
 * with line ends `to`; null when nothing needs doing.
 */
export function lineTermConverter(from: LineTerm, to: LineTerm): ((data: Buffer) => Buffer) | null {
  if (from === to) return null;
  if (from !== 'crnl' && to !== 'crnl') {
    // raw <-> cr: a byte-for-byte swap, length unchanged
    const [a, b] = from === 'raw' ? [LF, CR] : [CR, LF];
    return (data) => {
      const out = Buffer.from(data);
      for (let i = 0; i < out.length; i++) if (out[i] === a) out[i] = b;
      return out;
    };
  }
  if (from === 'crnl') {
    // drop every CR, turn LF into the target's line end
    const end = to === 'raw' ? LF : CR;
    return (data) => {
      const out = Buffer.allocUnsafe(data.length);
      let n = 0;
      for (const c of data) {
        if (c === CR) continue;
        out[n++] = c === LF ? end : c;
      }
      return out.subarray(0, n);
    };
  }
  // to crnl: the source's line end becomes CR LF
  const end = from === 'raw' ? LF : CR;
  return (data) => {
    const out = Buffer.allocUnsafe(data.length * 2);
    let n = 0;
    for (const c of data) {
      if (c === end) {
        out[n++] = CR;
        out[n++] = LF;
      } else out[n++] = c;
    }
    return out.subarray(0, n);
  };
}
