/**
 * A fork relay starts each peer's program with posix_spawn (src/sys/spawn.ts), not
 * Node's spawn: the program must not tell the difference. The same program runs
 * behind `TCP-LISTEN:<port>,fork` with posix_spawn (the default per peer) and with
 * TSOCAT_POSIX_SPAWN=off (Node's spawn) and reports what it inherited: ignored and
 * blocked signals, open descriptors and what they are, whether it leads a session,
 * an environment variable, its exit status.
 * -t 5: the peer's end of file comes first, and a loaded machine may take longer
 * than the default 0.5 s to run the script to its end.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backgroundStarter, exited, freePort, scratchDirs, stop, tcpExchange, waitFor, waitForPort } from '../helpers.js';

const start = backgroundStarter();

// what a script reports: descriptors and their kinds (socket numbers differ), session leadership, a variable
const PROBE = `#!/bin/sh
for f in /proc/$$/fd/*; do echo "fd \${f##*/} $(readlink "$f" | sed -e 's/socket:.*/socket/' -e 's/pipe:.*/pipe/')"; done
if [ "$(ps -o sid= -p $$ | tr -d ' ')" = "$$" ]; then echo leader; else echo member; fi
echo "peer $SOCAT_PEERADDR"
exit 3
`;

const scratch = scratchDirs();

function probeScript(): string {
  const script = join(scratch(), 'probe');
  writeFileSync(script, PROBE, { mode: 0o755 });
  return script;
}

/** The program's output for one peer (which sends nothing), once its session has ended; with `status`, tsocat logged that exit status. */
async function probe(program: string, env: NodeJS.ProcessEnv, status?: number): Promise<{ out: string; log: string }> {
  const port = await freePort();
  const p = start(['-d', '-d', '-d', '-t', '5', `TCP-LISTEN:${port},reuseaddr,fork`, program], { env });
  await waitForPort(port);
  const out = (await tcpExchange(port, '', { halfClose: true })).toString();
  await waitFor(() => / N session with TCP .* ended after /.test(p.errors()), 5000, 'the end of the session');
  await stop(p);
  if (status !== undefined) expect(p.errors()).toMatch(new RegExp(` W waitpid\\(\\): child \\d+ exited with status ${status}\n`));
  return { out, log: p.errors() };
}

const NODE_SPAWN = { ...process.env, TSOCAT_POSIX_SPAWN: 'off' };
const POSIX_SPAWN = { ...process.env, TSOCAT_POSIX_SPAWN: 'on' };

describe('a program per peer (posix_spawn)', () => {
  it('starts with every signal at its default and none blocked, as from Node\'s spawn (the program itself reads /proc)', async () => {
    // exec'd directly: a shell in between would set its own signals
    const program = 'EXEC:grep -e SigBlk -e SigIgn /proc/self/status';
    const plain = await probe(program, POSIX_SPAWN);
    expect(plain.out).toMatch(/^SigBlk:\s+0+\nSigIgn:\s+0+\n$/);
    expect((await probe(program, NODE_SPAWN)).out).toBe(plain.out);
    expect(plain.log).toMatch(/ I forked off child process \d+\n/);
  });

  it('inherits what Node\'s spawn would give it: descriptors 0-2, session (setsid), environment, exit status', async () => {
    const script = probeScript();
    for (const setsid of [false, true]) {
      const program = `EXEC:${script}${setsid ? ',setsid' : ''}`;
      const plain = await probe(program, POSIX_SPAWN, 3);
      expect(plain.out).toMatch(/^fd 0 socket\nfd 1 socket\n/);
      expect(plain.out).toContain(setsid ? '\nleader\n' : '\nmember\n');
      expect(plain.out).toContain('\npeer 127.0.0.1\n');
      expect((await probe(program, NODE_SPAWN, 3)).out).toBe(plain.out);
    }
  });

  it('with no TSOCAT_POSIX_SPAWN: posix_spawn for each peer of a fork relay, Node\'s spawn for a relay\'s one program unless koffi is loaded, and =off or =on forces either', async () => {
    const { TSOCAT_POSIX_SPAWN: _, ...plainEnv } = process.env;
    const perPeer = async (env: NodeJS.ProcessEnv) => {
      const port = await freePort();
      const p = start(['-d', '-d', '-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork`, 'EXEC:cat'], { env });
      await waitForPort(port);
      expect((await tcpExchange(port, 'hi\n', { halfClose: true })).toString()).toBe('hi\n');
      await waitFor(() => / I forked off child process \d+\n/.test(p.errors()), 5000, 'the program started');
      await stop(p);
      return / D started "cat" with (posix_spawn|Node's spawn)\n/.exec(p.errors())?.[1];
    };
    expect(await perPeer(plainEnv)).toBe('posix_spawn');
    expect(await perPeer({ ...plainEnv, TSOCAT_POSIX_SPAWN: 'off' })).toBe("Node's spawn");
    // one program: posix_spawn only once koffi is loaded anyway (here by `pipes`, which makes its pipes through it)
    const once = async (env: NodeJS.ProcessEnv, options = '') => {
      const p = start(['-d', '-d', '-d', '-d', '-u', `EXEC:echo hi${options}`, 'OPEN:/dev/null'], { env });
      await waitFor(() => / I forked off child process \d+\n/.test(p.errors()), 5000, 'the program started');
      expect(await exited(p, 5000)).toBe(0);
      return / D started "echo" with (posix_spawn|Node's spawn)\n/.exec(p.errors())?.[1];
    };
    expect(await once(plainEnv)).toBe("Node's spawn");
    expect(await once(plainEnv, ',pipes')).toBe('posix_spawn');
    expect(await once({ ...plainEnv, TSOCAT_POSIX_SPAWN: 'on' })).toBe('posix_spawn');
  });

  it('a program that cannot start is refused in socat\'s words, and the relay serves the next peer', async () => {
    const port = await freePort();
    const p = start([`TCP-LISTEN:${port},reuseaddr,fork`, 'EXEC:no-such-program-here']);
    await waitForPort(port);
    expect((await tcpExchange(port, 'x', { halfClose: true })).toString()).toBe('');
    expect((await tcpExchange(port, 'y', { halfClose: true })).toString()).toBe('');
    await waitFor(() => (p.errors().match(/ E execvp\("no-such-program-here", \.\.\.\): No such file or directory\n/g) ?? []).length === 2, 5000, 'two refusals');
    expect(p.exitCode).toBeNull();
  });
});
