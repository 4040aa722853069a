#!/usr/bin/env node
/**
 * Mutation fuzzing of the whole command: takes the command lines of the README
 * and of socat's man page examples, mutates them (numbers at C type
 * boundaries, deep nesting, long names, dropped and doubled characters,
 * swapped tokens), runs each through bin/tsocat.js and counts the runs that end
 * in "internal error" or in one of Node's own messages, and the ones that hang.
 *
 *   npm run build && node scripts/mutate-cli.mjs [--count 2000] [--seed 1] [--jobs 2] [--timeout 4] [--keep FILE]
 *
 * Safety, since mutants are arbitrary command lines: when run as root, each run
 * happens in a network namespace of its own (only loopback, brought up, so no
 * packet leaves the machine and no name resolves through the network) and as
 * the user nobody in a scratch directory, so a mutant such as CREATE:/etc/x
 * cannot write outside it. stdin is /dev/null and `-T 2` comes first, so no run
 * waits for input; a run still going at --timeout is killed (by its pid) and,
 * unless its log says it is waiting for a peer (a listener), counted as a hang.
 * Exit status: 0 when there were no internal errors and no hangs, else 1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'tsocat.js');

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const COUNT = Number(flag('--count', 2000));
const SEED = Number(flag('--seed', 1));
const JOBS = Number(flag('--jobs', 2));
const TIMEOUT_S = Number(flag('--timeout', 4));
const KEEP = flag('--keep', undefined);

/**
 * The seed set: README's command lines and socat's man page EXAMPLES, with
 * hosts made 127.0.0.1 and ports ones nobody listens on, so an unmutated seed
 * fails (or waits, for a listener) without leaving the machine.
 */
const SEEDS = [
  ['TCP-LISTEN:4545,reuseaddr,fork', 'STDOUT'],
  ['TCP-LISTEN:4545,reuseaddr,fork', 'EXEC:cat'],
  ['-u', 'OPEN:in.bin', 'CREATE:out.bin'],
  ['-', 'TCP:127.0.0.1:4545'],
  ['-x', '-', 'TCP:127.0.0.1:4545'],
  ['STDIO,raw,echo=0', 'TCP:127.0.0.1:4545'],
  ['TCP-LISTEN:4545,fork', 'UDP:127.0.0.1:7878'],
  ['UNIX-LISTEN:s,fork,mode=600', 'TCP:127.0.0.1:5432'],
  ['PTY,link=ttyV0,raw,echo=0', 'PTY,link=ttyV1,raw,echo=0'],
  ['OPENSSL-LISTEN:4443,cert=srv.pem,verify=0,fork', 'TCP:127.0.0.1:80'],
  ['-', 'SOCKS5-CONNECT:127.0.0.1:1080:example.org:80'],
  ['-', 'TCP4:127.0.0.1:80'],
  ['-d', '-d', '-lmlocal2', 'TCP4-LISTEN:8080,bind=127.0.0.1,su=nobody,fork,range=10.0.0.0/8,reuseaddr', 'TCP4:127.0.0.1:3128,sourceport=8000'],
  ['TCP4-LISTEN:5555,fork,tcpwrap=script', 'EXEC:/bin/myscript,chroot=/home/sandbox,su-d=sandbox,pty,stderr'],
  ['-d', '-d', '-lf', 'log', 'STDIO', 'OPEN:file,creat,append'],
  ['-', 'EXEC:sh -c cat,pty,setsid,setpgid,stderr,ctty'],
  ['-', 'PROXY:127.0.0.1:www.domain.com:80,proxyport=3128,proxyauth=user:pass'],
  ['-', 'SOCKS4:127.0.0.1:www.domain.com:80,socksport=1081'],
  ['-u', 'STDIN', 'UDP-SENDTO:127.0.0.1:5353,ttl=1,tos=16'],
  ['UDP4-RECVFROM:5353,ip-add-membership=224.0.0.251:127.0.0.1,fork', 'STDOUT'],
  ['-', 'UDP4-DATAGRAM:127.0.0.1:6666,broadcast,rcvbuf=65536,sndbuf=0x10000'],
  ['READLINE,history=hist', 'TCP:127.0.0.1:23'],
  ['-v', '-b', '8192', '-t', '0.5', 'FILE:data,seek=100,readbytes=10', 'STDOUT'],
  ['SYSTEM:"echo \'[x]\'; exit 3"', 'STDIO'],
  ['GOPEN:dev,ignoreeof!!STDOUT', 'TCP:127.0.0.1:5',],
  ['SOCKET-CONNECT:2:6:x00x00x7fx00x00x01,so-rcvbuf=4096', 'STDIO'],
  ['-', 'TCP:[::1]:80,connect-timeout=0.5,keepalive,keepidle=10,nodelay'],
  ['-', 'INTERFACE:lo,iff-promisc'],
  ['-', 'IP4-SENDTO:127.0.0.1:253,ttl=64'],
  ['STDIN,vmin=1,vtime=0', 'PIPE'],
  ['-', 'FD:3'],
  ['-', 'UNIX-CONNECT:"{sock}",setsockopt-int=1:7:4096'],
];

/** Numbers at every edge that matters to C and to JavaScript. */
const NUMBERS = [
  '0', '-1', '1', '255', '256', '65535', '65536', '2147483647', '2147483648', '-2147483648', '-2147483649',
  '4294967295', '4294967296', '9223372036854775807', '9223372036854775808', '18446744073709551615', '18446744073709551616',
  '99999999999999999999', '1e400', '0x7fffffff', '0xffffffff', '0x100000000', '0xffffffffffffffff', '0777', '08', '0x', '-0', '+5', '1.5', '.', '00000000000000000000001',
];
const SPECIAL = ['[', ']', '{', '}', '(', ')', '"', "'", '\\', ':', ',', '!!', '=', '%', ' ', '\n', '\x01'];

/** A small deterministic generator (mulberry32), so a seed repeats a run. */
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = generator(SEED);
const pick = (list) => list[Math.floor(random() * list.length)];
const int = (n) => Math.floor(random() * n);

/** One change to one argument. */
const MUTATIONS = [
  // a number replaced by one at a boundary
  (s) => (/\d+/.test(s) ? s.replace(/\d+(?:\.\d+)?/g, (m) => (random() < 0.5 ? pick(NUMBERS) : m)) : s),
  // a value of an option replaced by a boundary number
  (s) => s.replace(/=([^,]*)/, () => `=${pick(NUMBERS)}`),
  // deep nesting of one kind of bracket or quote
  (s) => {
    const open = pick(['[', '{', '(', '"', "'"]);
    const close = { '[': ']', '{': '}', '(': ')', '"': '"', "'": "'" }[open];
    const depth = pick([10, 255, 256, 257, 300, 3000]);
    const at = int(s.length + 1);
    return s.slice(0, at) + open.repeat(depth) + (random() < 0.7 ? close.repeat(depth) : '') + s.slice(at);
  },
  // a long name: a parameter or value made 300 to 5000 characters long
  (s) => {
    const parts = s.split(':');
    const i = int(parts.length);
    parts[i] = (parts[i] ?? '') + 'a'.repeat(pick([256, 300, 4097, 5000]));
    return parts.join(':');
  },
  // a special character inserted
  (s) => {
    const at = int(s.length + 1);
    return s.slice(0, at) + pick(SPECIAL) + s.slice(at);
  },
  // a character dropped or doubled
  (s) => {
    const at = int(s.length);
    return random() < 0.5 ? s.slice(0, at) + s.slice(at + 1) : s.slice(0, at + 1) + s.slice(at);
  },
  // an option added with a boundary value
  (s) => `${s},${pick(['ttl', 'tos', 'rcvbuf', 'sndbuf', 'backlog', 'max-children', 'vmin', 'sourceport', 'readbytes', 'seek', 'perm', 'connect-timeout', 'interval', 'retry', 'fdin', 'linger', 'mss', 'setsockopt-int=1:7', 'ioctl-int=21505', 'so-mark', 'keepidle'])}=${pick(NUMBERS)}`,
  // the port made 0 or out of range
  (s) => s.replace(/:(\d+)(?=$|,)/, () => `:${pick(['0', '65536', '-1', '99999999999999999999'])}`),
];

/** A flag mutation: a flag with a boundary value in front. Not -T: a later -T would undo the fixed `-T 2` that ends every idle run. */
const FLAG_VALUES = ['-b', '-t', '-S', '-d', '-lf', '-lp'];

function mutate(seed) {
  const argv = [...seed];
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds; r++) {
    if (random() < 0.15) {
      const f = pick(FLAG_VALUES);
      argv.unshift(f, f === '-lf' ? `log${'x'.repeat(pick([10, 300, 5000]))}` : f === '-lp' ? 'x'.repeat(pick([10, 5000])) : pick(NUMBERS));
      continue;
    }
    const i = int(argv.length);
    argv[i] = pick(MUTATIONS)(argv[i]);
  }
  return argv;
}

/** Node's own wording, which must never reach a user: stack frames, error classes, range messages, warnings. */
const NODE_MESSAGE = /internal error|^\s+at |node:internal|ERR_[A-Z_]+|The value of "|Received type|Maximum call stack|TimeoutOverflowWarning|\bWarning: |Error: /m;
/** A run that is doing what it was asked: a listener waiting for a peer, a client retrying as often as `retry`/`forever` say. */
const WAITING = / (listening on|receiving on|waiting for|waiting on|retrying in)\b/;

const asRoot = process.getuid?.() === 0;
const isolated = asRoot && spawnSync('unshare', ['-n', 'true']).status === 0 && spawnSync('setpriv', ['--version']).status === 0;

function runOne(argv, cwd) {
  const tsocatArgs = ['-d', '-d', '-T', '2', ...argv];
  const command = isolated
    ? ['unshare', ['-n', 'sh', '-c', 'ip link set lo up 2>/dev/null; exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"', 'sh', process.execPath, BIN, ...tsocatArgs]]
    : [process.execPath, [BIN, ...tsocatArgs]];
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command[0], command[1], { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    let timedOut = false;
    child.stdout.resume();
    child.stderr.on('data', (d) => {
      if (stderr.length < 200_000) stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      // the run's own process group (detached), by its pid: never by name
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, TIMEOUT_S * 1000);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      // with -lf the log is in that file, not on stderr
      const lf = argv.indexOf('-lf');
      if (lf >= 0 && argv[lf + 1]) {
        try {
          stderr += readFileSync(join(cwd, argv[lf + 1]), 'utf8').slice(0, 200_000);
        } catch {}
      }
      resolve({ status, signal, stderr, timedOut, ms: Date.now() - started });
    });
  });
}

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'tsocat-mutate-'));
  chmodSync(scratch, 0o777);
  for (const f of ['in.bin', 'data', 'file', 'dev']) writeFileSync(join(scratch, f), 'some bytes\n', { mode: 0o666 });
  const cases = Array.from({ length: COUNT }, () => mutate(pick(SEEDS)));
  const result = { tried: 0, internal: 0, hangs: 0, crashes: 0, waiting: 0, byStatus: {}, examples: { internal: [], hangs: [], crashes: [] } };
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const argv = cases[next++];
      const r = await runOne(argv, scratch);
      result.tried++;
      const key = r.timedOut ? 'killed' : String(r.status ?? r.signal);
      result.byStatus[key] = (result.byStatus[key] ?? 0) + 1;
      const short = (s) => (s.length > 300 ? `${s.slice(0, 300)}…(${s.length})` : s);
      if (NODE_MESSAGE.test(r.stderr)) {
        result.internal++;
        if (result.examples.internal.length < 40) result.examples.internal.push({ argv: argv.map(short), stderr: short(r.stderr.split('\n').filter((l) => NODE_MESSAGE.test(l)).join('\n')) });
      }
      // ended by a signal nobody sent (SIGABRT, SIGSEGV): Node itself gave up
      if (!r.timedOut && r.signal) {
        result.crashes++;
        if (result.examples.crashes.length < 40) result.examples.crashes.push({ argv: argv.map(short), signal: r.signal, stderr: short(r.stderr.split('\n').slice(-6).join('\n')) });
      }
      if (r.timedOut) {
        if (WAITING.test(r.stderr)) result.waiting++;
        else {
          result.hangs++;
          if (result.examples.hangs.length < 40) result.examples.hangs.push({ argv: argv.map(short), stderr: short(r.stderr.split('\n').slice(-4).join('\n')) });
        }
      }
      if (result.tried % 200 === 0) process.stderr.write(`${result.tried}/${COUNT}: ${result.internal} internal, ${result.hangs} hangs\n`);
    }
  };
  await Promise.all(Array.from({ length: JOBS }, worker));
  rmSync(scratch, { recursive: true, force: true });
  const summary = `inputs tried: ${result.tried}, internal errors: ${result.internal}, hangs: ${result.hangs}, crashes: ${result.crashes} (runs still waiting as asked at the timeout: listeners, retries: ${result.waiting}; isolated: ${isolated})\nexit statuses: ${JSON.stringify(result.byStatus)}\n`;
  process.stdout.write(summary);
  if (KEEP) writeFileSync(KEEP, JSON.stringify(result, null, 1));
  return result.internal === 0 && result.hangs === 0 && result.crashes === 0 ? 0 : 1;
}

process.exitCode = await main();
