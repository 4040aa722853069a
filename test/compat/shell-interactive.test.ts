/**
 * SHELL without a command (socat 1.8; test.sh INTERACTIVE_SHELL): the shell
 * itself, reading its commands from the relay. Compared with socat 1.8
 * (Debian's 1.7.4 has no SHELL address). test.sh runs it on a pty with a
 * 0.1 s pause between "cat" and the line; here the commands come on the
 * socketpair, so nothing depends on how fast either tool starts.
 */
import { describe, expect, it } from 'vitest';
import { run, socat18OrSkip, TSOCAT } from '../helpers.js';

describe('SHELL without a command', () => {
  it('- SHELL: the shell runs the commands it reads, as through socat 1.8', async (ctx) => {
    const socat18 = socat18OrSkip(ctx, "Debian's socat 1.7.4.4 has no SHELL address");
    // socat 1.8 needs $SHELL (tsocat falls back to /bin/sh)
    const env = { ...process.env, SHELL: '/bin/sh' };
    const input = 'echo "shell $0 says hi"\nexit 3\n';
    const [ours, theirs] = await Promise.all([run(process.execPath, [TSOCAT, '-', 'SHELL'], { env, input }), run(socat18, ['-', 'SHELL'], { env, input })]);
    expect(ours.stdout.toString()).toBe('shell sh says hi\n');
    expect(ours.stdout.toString()).toBe(theirs.stdout.toString());
  });
});
