/**
 * The row groups of `npm run bench`, in the order they run: what each
 * measures and the variables that size it. `BENCH_ONLY=<id>[,<id>…]` runs
 * only those groups; bench/readme.mjs writes bench/README.md from this list
 * and a `--json` result.
 */
export const GROUPS = [
  {
    id: 'throughput',
    title: 'TCP→TCP throughput and memory',
    measures:
      'BENCH_MB megabytes from this Node process through `TCP-LISTEN:P,reuseaddr TCP:<sink>`: MB/s from the first write to the sink seeing end of file, and the relay\'s peak RSS during the transfer against the same relay idle before it.',
    vars: 'BENCH_MB (default 512), BENCH_RUNS',
  },
  {
    id: 'slow-reader',
    title: 'A slow reader: memory under back-pressure',
    measures:
      'A sender in this process writes as fast as it may into `TCP-LISTEN:P,reuseaddr TCP:<sink>` whose sink reads 100 bytes every 100 ms (1 KB/s), for BENCH_SLOW_SECS seconds: the relay\'s RSS at the end against its RSS after 2 s (flat is 1.0), its peak against the same relay idle, and how much the sender could write (what the kernel\'s socket buffers and the relay hold). socat, tsocat (zero-copy path) and tsocat\'s buffered path (TSOCAT_SPLICE=off).',
    vars: 'BENCH_SLOW_SECS (default 10), BENCH_RUNS',
  },
  {
    id: 'tls',
    title: 'TLS throughput and handshakes',
    measures:
      'TLS→TCP throughput through `OPENSSL-LISTEN:P,fork,…,verify=0 TCP:<sink>`, driven by a C TLS sender (bench/tls/tlsblast.c, OpenSSL, 1 MiB writes) into the zero-copy rows\' C sink, separate processes, with the relay\'s CPU per GB and, as the reference, the same sender straight into a bare OpenSSL TLS sink (it must beat every relay for the row to measure the relay); handshakes per second through `OPENSSL-LISTEN:P,fork,reuseaddr,cert=…,key=…,verify=0 TCP:<echo>`, one RSA-2048 certificate for both tools: BENCH_CONNS sequential Node clients, then `openssl s_time` clients in their own processes (2 and 20 at once with `-new`, their connections per second summed; 2 with `-reuse -tls1_2` and the share of connections resumed — under TLS 1.3 s_time never reads the session ticket, so it could not resume against any server). The reference column is a bare Node `tls.createServer` piping each connection to the same echo, driven by the same clients: the ceiling for a relay on Node\'s TLS; a ceiling above every relay row shows the clients are not what limits those rows (a relay row at or above it is limited by the clients or is noise). Echo: a C program (bench/idle/hold.c).',
    vars: 'BENCH_MB (throughput), BENCH_CONNS (default 500), BENCH_TLS_SECS (s_time -time per run, default 10), BENCH_RUNS',
  },
  {
    id: 'unix',
    title: 'UNIX→TCP throughput',
    measures: 'BENCH_MB megabytes from a UNIX socket through `UNIX-LISTEN:<path> TCP:<sink>`, MB/s.',
    vars: 'BENCH_MB, BENCH_RUNS',
  },
  {
    id: 'udp',
    title: 'UDP packet rate',
    measures: 'Packets relayed per second through `UDP-LISTEN:P UDP:<echo>` with 64 B and 1400 B packets, 16 round trips in flight (two packets relayed per round trip).',
    vars: 'BENCH_UDP_PACKETS (default 20000)',
  },
  {
    id: 'fork',
    title: 'Fork connection rate',
    measures: 'Connections per second through `TCP-LISTEN:P,reuseaddr,fork TCP:<echo>`, each sending 16 bytes and waiting for them back: one client at a time, and 20 at once. The clients and the echo are C (bench/workers/load.c, its own processes); the same clients straight against the echo are the reference (the load alone, which must go faster than any relay). The rates are a listener\'s steady rate, counted after BENCH_CHURN_WARM exchanges through the fresh relay (a fresh tsocat serves its first thousand at about half its later rate), and for 20 at once also a fresh relay\'s (200 before). Without gcc, Node clients in the bench process.',
    vars: 'BENCH_CHURN_CONNS (default 2000; BENCH_CONNS without gcc), BENCH_CHURN_WARM (default 3000), BENCH_RUNS',
  },
  {
    id: 'programs',
    title: 'A program per peer',
    measures: 'The fork connection rate with a program per peer: `fork EXEC:cat` and `fork SYSTEM:cat` (a shell that runs cat), one client at a time and 20 at once.',
    vars: 'BENCH_CONNS',
  },
  {
    id: 'startup',
    title: 'Start-up',
    measures: 'Median wall time of `-u /dev/null /dev/null`, a complete trivial run; the reference is bare `node -e 0` with the same Node (issue 18 asks tsocat ≤ 1.15× it). scripts/startup.mjs measures more cases (`-V`, UNIX-CONNECT, CPU and wall, pairs).',
    vars: 'BENCH_STARTS (default 30)',
  },
  {
    id: 'latency',
    title: 'Request/response latency',
    measures:
      '64-byte round trips through `TCP-LISTEN:P,fork,reuseaddr TCP:<echo>` on one connection, timed by a C client (bench/latency/rtt.c) in its own process against a C echo (bench/idle/hold.c): median and 99th percentile in microseconds, after 200 uncounted. The reference column is the same client straight to the echo, no relay: the floor.',
    vars: 'BENCH_RTT (round trips per run, default 20000), BENCH_RUNS',
  },
  {
    id: 'idle',
    title: 'Idle peers',
    measures:
      'Memory per connected idle peer of `TCP-LISTEN:P,fork,reuseaddr TCP:<echo>`: a C program (bench/idle/hold.c) opens BENCH_IDLE connections, each relayed end to end once, and holds them; (PSS summed over the relay and all its descendants with the peers − the same with none) / peers. Also the forking listener with no peers: its PSS, and its RSS against a bare `node -e \'setInterval(()=>{},1e9)\'` (target: tsocat ≤ 1.15× bare node). The relay and the C ends run under a raised `ulimit -n`; when the hard limit is too low, fewer peers, and the result says so.',
    vars: 'BENCH_IDLE (default 10000), BENCH_RUNS',
  },
  {
    id: 'workers',
    title: 'Every core: --workers 2',
    measures:
      'A fork relay (`TCP-LISTEN:P,fork,reuseaddr TCP:<sink or echo>`) under 8 parallel bulk streams (MB/s summed) and under 20 concurrent connection churners (connections per second), through socat, tsocat and tsocat `--workers 2`; the load (senders, sink, churners, echo) is C in processes of its own (bench/workers/load.c). Each round runs every variant once in a new random order.',
    vars: 'BENCH_MB, BENCH_CONNS, BENCH_RUNS',
  },
  {
    id: 'zero-copy',
    title: 'C-driven relaying (zero-copy rows)',
    measures:
      'TCP→TCP and UNIX→TCP fork relays driven by a C sender and sink (bench/zero-copy/blast.c): tsocat\'s zero-copy and buffered paths, socat, `socat -b 65536` and direct loopback, with the relay\'s CPU per GB, and the relay\'s memory: the largest PSS of its process tree (socat moves the bytes in a forked child) sampled every 100 ms during a transfer, against the same relay idle just before it (median run, the worst beside it: a fresh relay\'s first transfer pages in about 4 MiB of Node\'s own code once).',
    vars: 'BENCH_ZC_MB (default BENCH_MB if set, else 2048), BENCH_ZC_DEADLINE_S (default 1800), BENCH_RUNS',
  },
];

export const GROUP_IDS = GROUPS.map((g) => g.id);
