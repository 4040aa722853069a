/**
 * The FD, NAMED, OPEN and REG options added for socat 1.8 parity, through
 * tsocat and through real socat (Debian's 1.7.4.4 has them all): the same
 * command line in two fresh directories with the same files must print the
 * same bytes, leave the same contents and modes, end with the same status,
 * and word a failure the same (descriptor numbers aside).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, chmodSync, linkSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fdOf } from '../fd-inspect.js';
import { requires, run, SOCAT, stop, TSOCAT, tempDir, waitFor } from '../helpers.js';

interface Case {
  args: string[];
  input?: string;
  /** Files made first: content and mode. */
  files?: Record<string, string>;
  /** Hard links made first: new name → existing name. */
  links?: Record<string, string>;
  /** Why the error wording is left out of the comparison, where socat's names the wrong thing. */
  ownWording?: string;
}

/** Every entry left in the directory: mode and content. */
function entries(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    out[name] = `${(statSync(path).mode & 0o777).toString(8)} ${JSON.stringify(readFileSync(path, 'utf8'))}`;
  }
  return out;
}

/** The error text after the log prefix, with descriptor numbers made equal (socat's are 5, 6…, tsocat's higher). */
const errorText = (stderr: string) => (stderr.match(/ E (.*)$/m)?.[1] ?? '').replace(/^(\w+)\(\d+,/, '$1(N,');

async function outcome(tool: string[], c: Case) {
  const { dir, cleanup } = tempDir();
  try {
    for (const [name, content] of Object.entries(c.files ?? {})) {
      writeFileSync(join(dir, name), content);
      chmodSync(join(dir, name), 0o644);
    }
    for (const [name, existing] of Object.entries(c.links ?? {})) linkSync(join(dir, existing), join(dir, name));
    const [cmd, ...pre] = tool as [string, ...string[]];
    const r = await run('sh', ['-c', 'umask 022; exec "$@"', 'sh', cmd, ...pre, ...c.args], { input: c.input ?? '', cwd: dir, timeoutMs: 8000 });
    return { status: r.status, stdout: r.stdout.toString(), error: errorText(r.stderr.toString()), files: entries(dir) };
  } finally {
    cleanup();
  }
}

const TEN = { f: '0123456789' };

const CASES: Record<string, Case> = {
  'seek-end=-4 for reading': { args: ['-u', 'OPEN:f,seek-end=-4', '-'], files: TEN },
  'seek-end=-4 for writing': { args: ['-u', '-', 'OPEN:f,seek-end=-4'], input: 'ab', files: TEN },
  'seek=4,seek-cur=2': { args: ['-u', 'OPEN:f,seek=4,seek-cur=2', '-'], files: TEN },
  'lseek32-cur=3': { args: ['-u', 'OPEN:f,lseek32-cur=3', '-'], files: TEN },
  'lseek64=7': { args: ['-u', 'OPEN:f,lseek64=7', '-'], files: TEN },
  'seek=-1 fails in lseek': { args: ['-u', 'OPEN:f,seek=-1', '-'], files: TEN },
  'seek-end past the end reads nothing': { args: ['-u', 'OPEN:f,seek-end=5', '-'], files: TEN },
  'ftruncate64=3': { args: ['-u', '-', 'OPEN:f,ftruncate64=3'], input: 'a', files: TEN },
  'ftruncate32=2': { args: ['-u', '-', 'OPEN:f,ftruncate32=2'], input: 'a', files: TEN },
  'ftruncate=-1 fails': { args: ['-u', '-', 'OPEN:f,ftruncate=-1'], input: 'a', files: TEN },
  'perm-late on an existing file': { args: ['-u', '-', 'OPEN:f,perm-late=0600'], input: 'x', files: TEN },
  'perm-late on CREATE is not masked': { args: ['-u', '-', 'CREATE:new,perm-late=0777'], input: 'x' },
  'perm-early on an existing file': { args: ['-u', '-', 'OPEN:f,perm-early=0640'], input: 'x', files: TEN },
  'perm-early on a file the open creates': { args: ['-u', '-', 'OPEN:new,creat,perm-early=0600'], input: 'x' },
  'perm-early before unlink-late, seen through a hard link': { args: ['-u', 'OPEN:f,perm-early=0600,unlink-late', '-'], files: TEN, links: { link: 'f' } },
  'o-create': { args: ['-u', '-', 'OPEN:new,o-create'], input: 'x' },
  'new (unlink-early)': { args: ['-u', '-', 'OPEN:f,creat,new'], input: 'x', files: TEN, links: { link: 'f' } },
  'remove (unlink)': { args: ['-u', '-', 'OPEN:f,creat,remove'], input: 'x', files: TEN, links: { link: 'f' } },
  'delete (unlink)': { args: ['-u', '-', 'OPEN:f,creat,delete'], input: 'x', files: TEN, links: { link: 'f' } },
  'f-setlk-rd on a write-only descriptor': {
    args: ['-u', '-', 'OPEN:f,f-setlk-rd'],
    input: 'x',
    files: TEN,
    ownWording: 'socat prints every record-lock failure as type=F_WRLCK, also for a read lock; tsocat names F_RDLCK',
  },
  'ioctl-int=0x5421:1 (FIONBIO given a bad pointer)': { args: ['-u', '-', 'OPEN:f,ioctl-int=0x5421:1'], input: 'x', files: TEN },
  'ioctl-intp=0x5421:1 (FIONBIO)': { args: ['-u', '-', 'OPEN:f,ioctl-intp=0x5421:1'], input: 'x', files: TEN },
  'ioctl-void=0x540b on a file (ENOTTY)': { args: ['-u', 'OPEN:f,ioctl-void=0x540b', '-'], files: TEN },
  'ioctl-int without a value part': { args: ['-u', 'OPEN:f,ioctl-int=5', '-'], files: TEN },
  'o-dsync, o-rsync, async, ndelay, largefile': { args: ['-u', '-', 'OPEN:f,o-dsync,o-rsync,async,ndelay,largefile,append'], input: 'x', files: TEN },
  'seek-end with a bad number': { args: ['-u', 'OPEN:f,seek-end=4x', '-'], files: TEN },
};

describe('new file options: tsocat and socat print, leave and say the same', () => {
  requires('socat');
  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const theirs = await outcome([SOCAT as string], c);
      const ours = await outcome([process.execPath, TSOCAT], c);
      if (c.ownWording) {
        // the call is worded differently; the system's answer must still be the same
        const answer = (e: string) => e.slice(e.lastIndexOf('): '));
        expect(answer(ours.error)).toBe(answer(theirs.error));
        theirs.error = ours.error;
      }
      expect(ours).toEqual(theirs);
    });
  }
});

/** Runs `tool … -u OPEN:log,seek-end=0,ignoreeof STDOUT`, appends a line once the relay is under way, and returns what it printed. */
async function tailFollow(tool: string[], dir: string): Promise<string> {
  const log = join(dir, 'log');
  writeFileSync(log, 'old line\n');
  const [cmd, ...pre] = tool as [string, ...string[]];
  const child = spawn(cmd, [...pre, '-d', '-d', '-u', `OPEN:${log},seek-end=0,ignoreeof`, 'STDOUT'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  try {
    await waitFor(() => fdOf(child.pid as number, log) !== undefined && err.includes('starting data transfer loop'), 8000);
    appendFileSync(log, 'new line\n');
    await waitFor(() => out.includes('new line\n'), 8000);
    return out;
  } finally {
    await stop(child);
  }
}

describe("socat's tail -f idiom", () => {
  requires('socat');
  it('OPEN:log,seek-end=0,ignoreeof relays only what is appended, as socat does', async () => {
    const a = tempDir();
    const b = tempDir();
    try {
      const theirs = await tailFollow([SOCAT as string], a.dir);
      const ours = await tailFollow([process.execPath, TSOCAT], b.dir);
      expect(theirs).toBe('new line\n');
      expect(ours).toBe(theirs);
    } finally {
      a.cleanup();
      b.cleanup();
    }
  });
});
