/**
 * socktype on EXEC/SYSTEM (socat's test.sh EXECSOCKETPAIRPACKETS,
 * SYSTEMSOCKETPAIRPACKETS): the socketpair to the program is of that type.
 * With -b 4 the input goes out as two 4-byte writes; the program waits until
 * both are queued, then reads once: a datagram pair keeps the writes apart
 * (4 bytes), the default stream pair runs them together (8). The same
 * through tsocat and socat.
 */
import { describe, expect, it } from 'vitest';
import { requires, run, SOCAT, TSOCAT } from '../helpers.js';

type Tool = 'tsocat' | 'socat';

/** The program: waits a second (the two writes are both queued by then: the condition, not the proof), reads once, prints how much it got. */
const PROGRAM = 'SYSTEM:sleep 1; dd bs=100 count=1 2>/dev/null | wc -c';

async function firstRead(tool: Tool, options: string, program = PROGRAM): Promise<{ out: string; status: number | null }> {
  const args = ['-b', '4', '-t', '3', '-', `${program}${options}`];
  const r = tool === 'tsocat' ? await run(process.execPath, [TSOCAT, ...args], { input: 'abcdefgh' }) : await run(SOCAT as string, args, { input: 'abcdefgh' });
  return { out: r.stdout.toString().trim(), status: r.status };
}

describe('socktype: the type of the socketpair to the program, tsocat and socat side by side', () => {
  requires('socat');
  it.for([
    [',socktype=2', '4'],
    ['', '8'],
  ] as const)('SYSTEM:…%s: the program\'s first read gets %s bytes', async ([options, bytes]) => {
    const [ours, theirs] = await Promise.all([firstRead('tsocat', options), firstRead('socat', options)]);
    expect(ours).toEqual({ out: bytes, status: 0 });
    expect(ours).toEqual(theirs);
  });

  it('EXEC:…,socktype=2 with tsocat itself as the program (-u - -, its STDIO a datagram socket) echoes both packets whole', async () => {
    const r = await run(process.execPath, [TSOCAT, '-b', '4', '-t', '3', '-', `EXEC:${process.execPath} ${TSOCAT} -u - -,socktype=2`], { input: 'abcdefgh', endInputAfter: 'abcdefgh' });
    expect(r.stdout.toString()).toBe('abcdefgh');
  });
});
