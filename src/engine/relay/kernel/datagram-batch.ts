/**
 * The batched datagram path: when both addresses are connected datagram
 * sockets tsocat made (UDP and UDP-CONNECT, UDP-LISTEN without fork) and no
 * one needs a packet in JavaScript (no dump, raw copy, conversion, byte limit,
 * escape or ignoreeof), each direction drains its source socket with
 * recvmmsg() into a ring of buffers allocated once and sends what it got with
 * sendmmsg(), one call each per batch, instead of one event, one callback and
 * one send per packet through node:dgram. Anything else keeps the source
 * contract (pump.ts).
 *
 * As on the zero-copy path (splice.ts), each address is watched through a
 * duplicate of its descriptor, Node's handle (whose reading is stopped) keeps
 * the original for the empty packet that ends a peer's input and for the
 * close, and nothing waits: a target that is full makes the direction wait for
 * writability with the rest of its batch still in the ring (read no more:
 * back-pressure), and a busy direction yields to the loop after
 * ROUNDS_PER_TURN batches so it cannot hold other sessions up.
 */
import { MessageRing, peerAddressOf, sendOn } from '../../../sys/sockets.js';
import type { RelaySettings } from '../../context.js';
import type { Endpoint } from '../../endpoint.js';
import { type DirectionEnd, ioError } from '../pump.js';
import { KernelEnd, type KernelRelay, type PlannedDirection, type SpliceDirection, unseenRefusal } from './splice.js';

/** What node:dgram reads at most of one datagram; -b bounds it further, as socat's read size does. */
const DATAGRAM_MAX = 65536;
/** A direction's ring holds this much (and between 4 and 32 datagrams). */
const RING_BYTES = 512 * 1024;
/** Batches a busy direction moves before letting other sessions run. */
const ROUNDS_PER_TURN = 4;

/** The same sender: family, port and address of two sockaddrs (IPv6's flow label and scope left out). */
function sameSender(a: Buffer, b: Buffer): boolean {
  if (a.length < 8 || b.length < 8 || a.readUInt16LE(0) !== b.readUInt16LE(0) || a.readUInt16BE(2) !== b.readUInt16BE(2)) return false;
  const [start, end] = a.readUInt16LE(0) === 10 ? [8, 24] : [4, 8];
  return a.subarray(start, end).equals(b.subarray(start, end));
}

/**
 * One direction: pending datagrams first (received by Node before the session
 * chose this path), then batches until an empty datagram (a connected peer's
 * end of file) or a failure, named as the buffered path names it.
 */
function batchDirection(
  from: KernelEnd,
  to: KernelEnd,
  ring: MessageRing,
  pending: Buffer[],
  peer: Buffer,
  plan: { sourceName: string; targetName: string; onActivity?: () => void; count?: (bytes: number) => void },
): SpliceDirection {
  let finish!: (end: DirectionEnd) => void;
  const done = new Promise<DirectionEnd>((resolve) => {
    finish = resolve;
  });
  let have = 0;
  let sent = 0;
  let eof = false;
  let over = false;
  const end = (outcome: DirectionEnd) => {
    stop();
    // steps may run inside libuv's callback (a direct watch, splice.ts), where nothing runs the
    // microtasks a resolved promise queues until some other event wakes Node (seen on Node 26)
    setImmediate(finish, outcome);
  };
  /** Keeps the datagrams of the batch that may pass, in order: none after an empty one (end of file), none from others. */
  const sift = (n: number): number => {
    let kept = 0;
    for (let i = 0; i < n; i++) {
      // a datagram queued from anyone but the connected peer before connect() is dropped, as the buffered path drops it
      if (!sameSender(ring.sender(i), peer)) continue;
      if (ring.lengths[i] === 0) {
        eof = true;
        break;
      }
      if (kept !== i) ring.move(i, kept);
      plan.count?.(ring.lengths[kept] as number);
      kept++;
    }
    return kept;
  };
  const step = () => {
    if (over) return;
    while (pending.length > 0) {
      const msg = pending[0] as Buffer;
      let n: number | undefined;
      try {
        n = msg.length === 0 ? 0 : sendOn(to.fd, msg);
      } catch (err) {
        return end({ kind: 'error', error: ioError('write', plan.targetName, err) });
      }
      if (n === undefined) return to.whenWritable(step);
      pending.shift();
      // an empty datagram held by Node is that peer's end of file
      if (msg.length === 0) eof = true;
      else plan.count?.(msg.length);
      if (eof) pending.length = 0;
    }
    let read = false;
    for (let round = 0; round < ROUNDS_PER_TURN; round++) {
      if (sent < have) {
        let n: number;
        try {
          n = ring.send(to.fd, sent, have);
        } catch (err) {
          return end({ kind: 'error', error: ioError('write', plan.targetName, err) });
        }
        sent += n;
        if (sent < have) {
          if (read) plan.onActivity?.();
          // the target is full: the rest of the batch waits in the ring, nothing more is read
          return to.whenWritable(step);
        }
      }
      if (eof) return end({ kind: 'eof' });
      let n: number;
      try {
        n = ring.receive(from.fd, ring.slots);
      } catch (err) {
        return end({ kind: 'error', error: ioError('read', plan.sourceName, err) });
      }
      if (n === 0) {
        if (read) plan.onActivity?.();
        return from.whenReadable(step);
      }
      read = true;
      have = sift(n);
      sent = 0;
    }
    if (read) plan.onActivity?.();
    // busy: let the other sessions' events run before the next batches
    setImmediate(step);
  };
  const stop = () => {
    if (over) return;
    over = true;
    from.whenReadable(undefined);
    to.whenWritable(undefined);
  };
  step();
  return { done, stop, endOnEof: () => {} };
}

/** Why a session cannot take the batched datagram path, or undefined when it can: the first reason found, for the log line. */
export function batchRefusal(directions: PlannedDirection[], settings: RelaySettings): string | undefined {
  if (process.env.TSOCAT_BATCH === 'off') return 'TSOCAT_BATCH=off';
  const unseen = unseenRefusal(directions, settings);
  if (unseen !== undefined) return unseen;
  for (const { from, to } of directions) {
    for (const ep of [from, to]) if (ep.datagramBatch?.fd() === undefined) return `${ep.description} is not a connected datagram socket`;
  }
  return undefined;
}

/**
 * Sets up the batched path for a session whose directions all qualify
 * (batchRefusal said nothing): a watched duplicate per address, a ring per
 * direction. Throws when the kernel refuses any of it; whatever was made is
 * given back first, and the session takes the buffered path.
 */
export function batchRelay(directions: PlannedDirection[], settings: RelaySettings): KernelRelay {
  const ends = new Map<Endpoint, KernelEnd>();
  const peers = new Map<Endpoint, Buffer>();
  const rings: MessageRing[] = [];
  const release = async () => {
    await Promise.all([...ends.values()].map((e) => e.close()));
    ends.clear();
    for (const ring of rings.splice(0)) ring.free();
  };
  // socat reads at most -b bytes of a datagram
  const size = settings.blockSizeGiven ? Math.min(settings.blockSize, DATAGRAM_MAX) : DATAGRAM_MAX;
  const slots = Math.max(4, Math.min(32, Math.floor(RING_BYTES / size)));
  try {
    for (const dir of directions) {
      for (const ep of [dir.from, dir.to]) if (!ends.has(ep)) ends.set(ep, new KernelEnd(ep.datagramBatch?.fd() as number));
      // getpeername() fails on a socket that is not connected: that one stays on the buffered path
      peers.set(dir.from, peerAddressOf((ends.get(dir.from) as KernelEnd).fd));
    }
    for (const _ of directions) rings.push(new MessageRing(slots, size));
  } catch (err) {
    void release();
    throw err;
  }
  // Node reads the sockets no more; what it had received goes out first
  const pending = new Map<Endpoint, Buffer[]>();
  for (const ep of ends.keys()) pending.set(ep, (ep.datagramBatch?.take() ?? []).map((m) => m.subarray(0, size)));
  const running: SpliceDirection[] = [];
  let next = 0;
  return {
    direction(dir, plan) {
      const d = batchDirection(ends.get(dir.from) as KernelEnd, ends.get(dir.to) as KernelEnd, rings[next++] as MessageRing, pending.get(dir.from) ?? [], peers.get(dir.from) as Buffer, plan);
      running.push(d);
      return d;
    },
    async release() {
      for (const d of running) d.stop();
      await release();
    },
  };
}

