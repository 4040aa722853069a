/** The uses tsocat exists for, end to end through the real command. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, tcpExchange, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';
import { ss } from '../socket-helpers.js';

const background = backgroundStarter();

/** Children of a process, from /proc (bounded: one pass over the table). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

function openClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

describe('TCP-LISTEN:P,reuseaddr,keepalive,fork STDOUT', () => {
  it('takes two clients at once, prints both, and keeps listening after they leave', async () => {
    const port = await freePort();
    const server = background([`TCP-LISTEN:${port},reuseaddr,keepalive,fork`, 'STDOUT']);
    await waitForPort(port);
    const [a, b] = await Promise.all([openClient(port), openClient(port)]);
    a.write('from client A\n');
    b.write('from client B\n');
    await waitFor(() => server.output().includes('from client A') && server.output().includes('from client B'));
    // keepalive: the server's side of both connections has SO_KEEPALIVE on, which the kernel shows as a keepalive timer (our clients set none)
    const accepted = ss('tno', `state established sport = :${port}`);
    expect(accepted, accepted.join('\n')).toHaveLength(2);
    for (const line of accepted) expect(line).toMatch(/timer:\(keepalive,/);
    // each session is over once the server closes its side of the connection in answer to ours
    await Promise.all([a, b].map((s) => new Promise((ended) => s.once('end', ended).end())));
    expect(server.exitCode).toBeNull();
    await tcpExchange(port, 'third\n', { timeoutMs: 2000 });
    await waitFor(() => server.output().includes('third'));
    expect(server.exitCode).toBeNull();
    expect(server.output().split('\n').filter(Boolean).sort()).toEqual(['from client A', 'from client B', 'third']);
  });
});

describe('-u', () => {
  it('sends nothing from the second address back to the client', async () => {
    const port = await freePort();
    // the second address would answer if it could: SYSTEM prints as soon as it starts
    const server = background(['-u', `TCP-LISTEN:${port},reuseaddr`, 'SYSTEM:echo answer; cat']);
    await waitForPort(port);
    const back = await tcpExchange(port, 'question\n', { timeoutMs: 2000 });
    expect(back.length).toBe(0);
    await waitFor(() => server.exitCode !== null, 5000);
    expect(server.output()).toContain('answer'); // the program's stdout stays tsocat's stdout
  });
});

describe('TCP-LISTEN:P,reuseaddr,fork EXEC:…', () => {
  it('echoes to 50 concurrent clients, each with its own child, and leaves no child behind', async () => {
    const port = await freePort();
    const server = background([`TCP-LISTEN:${port},reuseaddr,fork`, 'SYSTEM:echo $$; exec cat']);
    await waitForPort(port);
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => tcpExchange(port, `client ${i}\n`, { timeoutMs: 10000 })),
    );
    const pids = new Set<string>();
    replies.forEach((reply, i) => {
      const [pid, echoed] = reply.toString().split('\n');
      expect(echoed).toBe(`client ${i}`);
      pids.add(pid as string);
    });
    expect(pids.size).toBe(50);
    await waitFor(() => childrenOf(server.pid as number).length === 0, 5000);
    expect(server.exitCode).toBeNull();
  });
});

describe('-x', () => {
  it('prints each block in hex in socat\'s dump layout', async () => {
    const port = await freePort();
    const server = background(['-x', `TCP-LISTEN:${port},reuseaddr`, 'EXEC:cat']);
    await waitForPort(port);
    expect((await tcpExchange(port, 'Hi!\n')).toString()).toBe('Hi!\n');
    await waitFor(() => server.exitCode !== null, 5000);
    const dump = server.errors();
    expect(dump).toMatch(/^> \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6}  length=4 from=0 to=3\n 48 69 21 0a\n/m);
    expect(dump).toMatch(/^< \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6}  length=4 from=0 to=3\n 48 69 21 0a\n/m);
  });
});

describe('files and stdio', () => {
  it('-u OPEN:src CREATE:dst copies 100 MB byte for byte', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const src = join(dir, 'src');
      const dst = join(dir, 'dst');
      const out = createWriteStream(src);
      const block = randomBytes(1 << 20);
      for (let i = 0; i < 100; i++) {
        block[0] = i; // each MiB differs
        if (!out.write(Buffer.from(block))) await new Promise((r) => out.once('drain', r));
      }
      await new Promise((r) => out.end(r));
      const r = await tsocat(['-u', `OPEN:${src}`, `CREATE:${dst}`], { timeoutMs: 60000 });
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(statSync(dst).size).toBe(100 * (1 << 20));
      const digest = (p: string) =>
        new Promise<string>((res) => {
          const h = createHash('sha256');
          createReadStream(p).on('data', (d) => h.update(d)).on('end', () => res(h.digest('hex')));
        });
      expect(await digest(dst)).toBe(await digest(src));
    } finally {
      cleanup();
    }
  }, 90000);

  it('- - passes stdin to stdout unchanged', async () => {
    const input = randomBytes(3 << 20);
    const r = await tsocat(['-', '-'], { input });
    expect(r.status).toBe(0);
    expect(r.stdout.equals(input)).toBe(true);
  });

  it('a bare path is GOPEN', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(join(dir, 'f'), 'content\n');
      const r = await tsocat(['-u', join(dir, 'f'), '-']);
      expect(r.stdout.toString()).toBe('content\n');
    } finally {
      cleanup();
    }
  });
});
