/**
 * EXEC/SYSTEM process options, PIPE and PIPE:<path> options, the same command
 * line through tsocat and real socat: same exit status, same output, same
 * files left behind, and for setpgid/setsid the same process relations.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requires, run, SOCAT, TSOCAT, tempDir } from '../helpers.js';

type Tool = 'socat' | 'tsocat';

/** Runs one tool in a fresh directory prepared by `setUp` (which may return its own tear-down); `inspect` looks at the directory afterwards. */
async function outcome(tool: Tool, args: string[], opts: { input?: string; setUp?: (dir: string) => unknown; inspect?: (dir: string) => unknown } = {}) {
  const { dir, cleanup } = tempDir();
  try {
    const tearDown = opts.setUp?.(dir);
    const cmd = tool === 'socat' ? (SOCAT as string) : process.execPath;
    const r = await run(cmd, tool === 'socat' ? args : [TSOCAT, ...args], { input: opts.input ?? '', cwd: dir, timeoutMs: 8000 });
    if (typeof tearDown === 'function') tearDown();
    return { status: r.status, stdout: r.stdout.toString(), after: opts.inspect?.(dir) };
  } finally {
    cleanup();
  }
}

async function expectSameOutcome(args: string[], opts: Parameters<typeof outcome>[2] = {}) {
  const [ours, theirs] = await Promise.all([outcome('tsocat', args, opts), outcome('socat', args, opts)]);
  expect(ours).toEqual(theirs);
  return theirs;
}

/** A program that prints how its process group and session relate to its own pid and to its parent's. */
function writeRelationProbe(dir: string): void {
  writeFileSync(
    join(dir, 'relations'),
    '#!/bin/sh\nset -- $(sed "s/.*) //" /proc/$$/stat); pg=$3 sid=$4\nset -- $(sed "s/.*) //" /proc/$PPID/stat)\n' +
      '[ "$pg" = $$ ] && echo "own group" || echo "parent\'s group"\n[ "$sid" = $4 ] && echo "parent\'s session" || echo "new session"\n',
    { mode: 0o755 },
  );
}

const mkfifo = (dir: string, name = 'fifo'): void => {
  execFileSync('mkfifo', [join(dir, name)]);
};
const exists = (name: string) => (dir: string) => existsSync(join(dir, name));

describe('EXEC/SYSTEM process options: same as socat', () => {
  requires('socat');
  it('setpgid=0: own process group, same session', async () => {
    const r = await expectSameOutcome(['-u', 'EXEC:./relations,setpgid=0', 'STDOUT'], { setUp: writeRelationProbe });
    expect(r.stdout).toBe("own group\nparent's session\n");
  });

  it('setsid: new session', async () => {
    const r = await expectSameOutcome(['-u', 'EXEC:./relations,setsid', 'STDOUT'], { setUp: writeRelationProbe });
    expect(r.stdout).toBe('own group\nnew session\n');
  });

  it('neither: the parent\'s group and session', async () => {
    const r = await expectSameOutcome(['-u', 'EXEC:./relations', 'STDOUT'], { setUp: writeRelationProbe });
    expect(r.stdout).toBe("parent's group\nparent's session\n");
  });

  it('pipes gives the program FIFOs; socketpair is not an option', async () => {
    expect((await expectSameOutcome(['-', 'SYSTEM:stat -L -c %F /dev/stdin /dev/stdout,pipes'])).stdout).toBe('fifo\nfifo\n');
    expect((await expectSameOutcome(['-', 'SYSTEM:cat,pipes,socketpair'], { input: 'x' })).status).toBe(1);
  });
});

describe('unnamed PIPE: same as socat', () => {
  requires('socat');
  it('perm and flock-ex act on the pipe and it still echoes', async () => {
    expect(await expectSameOutcome(['-', 'PIPE,perm=0640,flock-ex'], { input: 'echo\n' })).toMatchObject({ status: 0, stdout: 'echo\n' });
  });

  it('setlk fails (a write lock on the read end)', async () => {
    expect((await expectSameOutcome(['-', 'PIPE,setlk'], { input: 'x' })).status).toBe(1);
  });

  it('OPEN and unlink options fail', async () => {
    for (const option of ['o-trunc', 'creat', 'unlink-early']) expect((await expectSameOutcome(['-', `PIPE,${option}`], { input: 'x' })).status, option).toBe(1);
  });
});

describe('PIPE:<path> OPEN and NAMED options: same as socat', () => {
  requires('socat');
  it('creat,excl on an existing FIFO fails', async () => {
    const r = await expectSameOutcome(['-', 'PIPE:fifo,o-creat,o-excl'], { input: 'x', setUp: (d) => mkfifo(d), inspect: exists('fifo') });
    expect(r).toMatchObject({ status: 1, after: true });
  });

  it('directory (with trunc and noctty) fails on a FIFO and leaves nothing behind', async () => {
    expect(await expectSameOutcome(['-', 'PIPE:f,directory,o-trunc,noctty'], { input: 'x', inspect: exists('f') })).toMatchObject({ status: 1, after: false });
  });

  it('nofollow refuses a symbolic link', async () => {
    const setUp = (d: string) => {
      mkfifo(d);
      symlinkSync('fifo', join(d, 'link'));
    };
    expect((await expectSameOutcome(['-', 'PIPE:link,nofollow'], { input: 'x', setUp })).status).toBe(1);
  });

  it('unlink replaces a regular file with a FIFO, removed at the end', async () => {
    const setUp = (d: string) => writeFileSync(join(d, 'entry'), 'regular\n');
    expect(await expectSameOutcome(['-', 'PIPE:entry,unlink'], { input: 'via fifo\n', setUp, inspect: exists('entry') })).toMatchObject({ status: 0, stdout: 'via fifo\n', after: false });
  });

  it('unlink-late removes an existing FIFO once open', async () => {
    expect(await expectSameOutcome(['-', 'PIPE:fifo,unlink-late'], { input: 'late\n', setUp: (d) => mkfifo(d), inspect: exists('fifo') })).toMatchObject({ status: 0, stdout: 'late\n', after: false });
  });

  it('perm is the mode a new FIFO is made with (less the umask); unlink-close=0 keeps it', async () => {
    const inspect = (d: string) => statSync(join(d, 'made')).mode & 0o777;
    expect(await expectSameOutcome(['-', 'PIPE:made,perm=0604,unlink-close=0'], { input: 'x', inspect })).toMatchObject({ status: 0, after: 0o604 });
  });

  it('perm leaves an existing FIFO as it is', async () => {
    const setUp = (d: string) => {
      execFileSync('mkfifo', ['-m', '0644', join(d, 'fifo')]);
    };
    const inspect = (d: string) => statSync(join(d, 'fifo')).mode & 0o777;
    expect(await expectSameOutcome(['-', 'PIPE:fifo,perm=0600'], { input: 'x', setUp, inspect })).toMatchObject({ status: 0, after: 0o644 });
  });

  it('wronly in two-way use: data goes into the FIFO, nothing comes back', async () => {
    // a reader holds the FIFO open so the write-only open does not wait
    const r = await expectSameOutcome(['-', 'PIPE:fifo,wronly'], {
      input: 'one way\n',
      setUp: (d) => {
        mkfifo(d);
        const reader = openSync(join(d, 'fifo'), constants.O_RDONLY | constants.O_NONBLOCK);
        return () => closeSync(reader);
      },
    });
    expect(r).toMatchObject({ status: 0, stdout: '' });
  });
});
