/**
 * The broker's chat framing: whole lines, each prefixed with its sender
 * (`<user3> hello`), as ncat's --chat shows them.
 */

/** A member as chat sees it: its name and the start of a line still waiting for its newline. */
export interface LineSender {
  name: string;
  partial?: Buffer;
}

const NEWLINE = 0x0a;

/** chat: the complete lines of `chunk` (with what the sender had pending), each prefixed; the rest stays pending. */
export function chatLines(from: LineSender, chunk: Buffer, bound: number): Buffer | undefined {
  const data = from.partial ? Buffer.concat([from.partial, chunk]) : chunk;
  const prefix = Buffer.from(`<${from.name}> `);
  const out: Buffer[] = [];
  let start = 0;
  for (let nl = data.indexOf(NEWLINE); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
    out.push(prefix, data.subarray(start, nl + 1));
    start = nl + 1;
  }
  const rest = data.subarray(start);
  // a line longer than the bound goes out in pieces, so one sender cannot make tsocat hold unbounded memory
  if (rest.length > bound) {
    out.push(prefix, rest, Buffer.from('\n'));
    from.partial = undefined;
  } else from.partial = rest.length > 0 ? Buffer.from(rest) : undefined;
  return out.length > 0 ? Buffer.concat(out) : undefined;
}
