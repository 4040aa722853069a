/**
 * The slow-reader rows of `npm run bench`: a sender that writes as fast as it
 * may into `TCP-LISTEN:P,reuseaddr TCP:<sink>` whose sink takes 1 KB a second.
 * A relay that honours back-pressure holds at most its buffers' worth (the
 * rest waits in the kernel's socket buffers and in the sender), so its RSS stays
 * flat however long the sender pushes; one that reads on regardless grows with
 * every second. Sampled: the relay's RSS (VmRSS) idle, after 2 s and at the end.
 * socat, tsocat's zero-copy path (the default here) and its buffered path
 * (TSOCAT_SPLICE=off). Loopback only; the relay is stopped by its pid.
 */
import { connect, createServer } from 'node:net';
import { procKiB, startRelay } from './procs.mjs';
import { reservePort, waitListening } from './ports.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** What the sink takes each tick, and how often: 100 B every 100 ms, 1 KB/s. */
const TAKE = 100;
const TICK_MS = 100;

/** A sink that reads TAKE bytes per tick from its one connection and nothing more (its socket stays paused). */
async function slowSink() {
  let taken = 0;
  const timers = [];
  const server = createServer((s) => {
    s.on('error', () => {});
    s.pause();
    timers.push(
      setInterval(() => {
        const chunk = s.read(Math.min(TAKE, s.readableLength || TAKE));
        if (chunk) taken += chunk.length;
      }, TICK_MS),
    );
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    taken: () => taken,
    close: () => {
      for (const t of timers) clearInterval(t);
      server.close();
    },
  };
}

/** One run: `secs` seconds of a fast sender into the slow sink through `argv`; RSS in KiB idle, at 2 s and at the end, and bytes accepted. */
async function slowReaderOnce(argv, env, secs) {
  const sink = await slowSink();
  const port = await reservePort();
  const relay = startRelay([...argv, `TCP-LISTEN:${port},reuseaddr`, `TCP:127.0.0.1:${sink.port}`], env);
  const rss = () => procKiB(relay.child.pid, 'status', 'VmRSS');
  let sender;
  try {
    await waitListening(port);
    const idle = rss();
    let accepted = 0;
    const block = Buffer.alloc(64 * 1024, 0x61);
    sender = connect({ port, host: '127.0.0.1' });
    sender.on('error', () => {});
    const pump = () => {
      // at most 1 GiB: the loop is bounded even if nothing pushed back
      while (accepted < 1 << 30) {
        accepted += block.length;
        if (!sender.write(block)) return sender.once('drain', pump);
      }
    };
    sender.once('connect', pump);
    let peak = 0;
    let early = Number.NaN;
    const t0 = Date.now();
    for (let i = 0; i < secs * 10 && Date.now() - t0 < secs * 1000 + 5000; i++) {
      await sleep(100);
      const v = rss();
      if (Number.isFinite(v)) peak = Math.max(peak, v);
      if (i === 19) early = v;
    }
    const end = rss();
    // bytes the sender's socket took that were not yet written out stay in its own buffer
    return { idle, early, end, peak, accepted: accepted - sender.writableLength, taken: sink.taken() };
  } finally {
    sender?.destroy();
    await relay.stop();
    sink.close();
  }
}

/** Medians over `runs` runs for socat, tsocat (zero-copy) and tsocat (buffered). */
export async function slowReaderRows({ tools, secs, runs }) {
  const variants = [
    { label: 'socat', argv: tools.socat, env: {} },
    { label: 'tsocat', argv: tools.tsocat, env: {} },
    { label: 'tsocat, buffered path', argv: tools.tsocat, env: { TSOCAT_SPLICE: 'off' } },
  ];
  const results = Object.fromEntries(variants.map((v) => [v.label, []]));
  for (let round = 0; round < runs; round++) {
    for (const v of [...variants].sort(() => Math.random() - 0.5)) results[v.label].push(await slowReaderOnce(v.argv, v.env, secs));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = (label, key) => median(results[label].map((r) => r[key]));
  return Object.fromEntries(
    variants.map((v) => [
      v.label,
      {
        idleKiB: summary(v.label, 'idle'),
        earlyKiB: summary(v.label, 'early'),
        endKiB: summary(v.label, 'end'),
        peakKiB: summary(v.label, 'peak'),
        growth: median(results[v.label].map((r) => r.end / r.early)),
        peakOverIdle: median(results[v.label].map((r) => r.peak / r.idle)),
        acceptedKiB: summary(v.label, 'accepted') / 1024,
        takenKiB: summary(v.label, 'taken') / 1024,
      },
    ]),
  );
}
