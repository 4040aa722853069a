/**
 * The broker (`TCP-LISTEN:<port>,fork,broker`): one conversation among every
 * accepted peer and the other address. What one member sends goes to every
 * other member, never back to the sender. socat has no broker; this follows
 * ncat's --broker and --chat.
 *
 * - The other address is opened once and is a member too (`<user0>` in chat):
 *   its end of file only stops reading from it, it is still written to.
 * - A member that cannot keep up gets at most `bound` bytes queued in tsocat
 *   (the kernel's socket buffers come on top); past that, `slow` says what
 *   happens: 'disconnect' closes it, 'drop' skips what does not fit, whole
 *   reads (whole lines in chat), until its queue drains. No one else waits.
 * - A member leaving (end of file, an error, too slow) never ends the broker;
 *   only the relay's stop (SIGTERM, SIGINT) does.
 */
import type { Writable } from 'node:stream';
import { TsocatError } from '../../../errors.js';
import type { Logger } from '../../../log/logger.js';
import type { OpenContext } from '../../context.js';
import { type Endpoint, type Listener, sourceOf } from '../../endpoint.js';
import type { ChunkSource } from '../../source.js';
import { chatLines, type LineSender } from './chat.js';

export type SlowPolicy = 'drop' | 'disconnect';

export interface BrokerOptions {
  /** Prefix each line with its sender, `<userN> `. */
  chat: boolean;
  /** Bytes queued for one member before `slow` applies. */
  bound: number;
  slow: SlowPolicy;
  /** Pause accepting while this many peers are members (0: no limit). */
  maxChildren: number;
  windDown?: AbortSignal;
}

export const DEFAULT_BROKER_BUFFER = 1024 * 1024;

interface Member extends LineSender {
  endpoint: Endpoint;
  source?: ChunkSource;
  writable?: Writable;
  /** Bytes skipped since it last kept up (drop). */
  dropped: number;
  /** The other address: its end of file does not make it leave. */
  host: boolean;
}

class Broker {
  private readonly members = new Set<Member>();
  private next = 1;
  private spaceFreed?: () => void;
  /** Peers accepted whose TLS handshake (if any) still runs: they count against max-children. */
  admitting = 0;

  constructor(
    private readonly opts: BrokerOptions,
    private readonly log: Logger,
  ) {}

  get peers(): number {
    return [...this.members].filter((m) => !m.host).length;
  }

  /** Waits until fewer than max-children peers are members (or the broker stops). */
  async room(stopped: () => boolean): Promise<void> {
    while (!stopped() && this.opts.maxChildren && this.peers + this.admitting >= this.opts.maxChildren) {
      await new Promise<void>((r) => {
        this.spaceFreed = r;
      });
    }
  }

  join(endpoint: Endpoint, host = false): void {
    const member: Member = { name: host ? 'user0' : `user${this.next++}`, endpoint, writable: endpoint.writable, dropped: 0, host };
    this.members.add(member);
    endpoint.writable?.on('error', (err: Error) => this.leave(member, `write: ${err.message}`));
    this.log.log('N', `broker: ${endpoint.description} joined as ${member.name} (${this.members.size} members)`);
    const source = sourceOf(endpoint);
    if (!source) return;
    member.source = source;
    source.start({
      data: (chunk, release) => {
        this.deliver(member, chunk);
        release();
      },
      end: () => this.stopReading(member, 'end of file'),
      error: (err) => this.leave(member, err.message),
    });
  }

  private stopReading(member: Member, why: string): void {
    if (member.partial && this.opts.chat) this.deliver(member, Buffer.from('\n'));
    if (!member.host) {
      this.leave(member, why);
      return;
    }
    member.source?.stop();
    member.source = undefined;
    this.log.log('I', `broker: ${member.endpoint.description} (${member.name}) is at ${why}; it is still written to`);
  }

  private deliver(from: Member, chunk: Buffer): void {
    // the source may reuse its buffer once released: every member's copy is this one
    const out = this.opts.chat ? chatLines(from, chunk, this.opts.bound) : Buffer.from(chunk);
    if (!out) return;
    for (const m of this.members) {
      if (m === from || !m.writable || m.writable.destroyed) continue;
      const queued = m.writable.writableLength;
      // an empty queue always takes the chunk, so a read larger than the bound does not count as slowness
      if (queued > 0 && queued + out.length > this.opts.bound) {
        if (this.opts.slow === 'disconnect') {
          this.leave(m, `too slow: ${queued} bytes queued, broker-buffer=${this.opts.bound}`);
          continue;
        }
        if (m.dropped === 0) this.log.log('W', `broker: ${m.endpoint.description} (${m.name}) is too slow; dropping what does not fit in broker-buffer=${this.opts.bound}`);
        m.dropped += out.length;
        continue;
      }
      if (m.dropped > 0) {
        this.log.log('N', `broker: ${m.endpoint.description} (${m.name}) keeps up again after ${m.dropped} bytes dropped`);
        m.dropped = 0;
      }
      m.writable.write(out);
    }
  }

  leave(member: Member, why: string): void {
    if (!this.members.delete(member)) return;
    member.source?.stop();
    this.log.log('N', `broker: ${member.endpoint.description} (${member.name}) left: ${why} (${this.members.size} members)`);
    void member.endpoint.close();
    this.wake();
  }

  /** Lets a wait for room look again. */
  wake(): void {
    this.spaceFreed?.();
    this.spaceFreed = undefined;
  }

  async closeAll(): Promise<void> {
    const all = [...this.members];
    this.members.clear();
    for (const m of all) m.source?.stop();
    await Promise.all(all.map((m) => m.endpoint.close()));
  }
}

/**
 * Serves a broker on `listener` with `other` (the other address, already
 * open) as one more member, until the relay is stopped. Resolves with 0.
 */
export async function serveBroker(listener: Listener, other: Endpoint, ctx: OpenContext, opts: BrokerOptions): Promise<number> {
  const { signal, log } = ctx;
  const broker = new Broker(opts, log);
  const stopAccepting = () => {
    void listener.close();
    broker.wake();
  };
  signal.addEventListener('abort', stopAccepting, { once: true });
  opts.windDown?.addEventListener('abort', stopAccepting, { once: true });
  const stopped = () => signal.aborted || opts.windDown?.aborted === true;
  broker.join(other, true);
  const admit = async (peer: Endpoint) => {
    broker.admitting++;
    try {
      await peer.ready;
      if (stopped()) await peer.close();
      else broker.join(peer);
    } catch (err) {
      log.log('E', err instanceof TsocatError ? err.message : String(err));
      await peer.close();
    } finally {
      broker.admitting--;
      broker.wake();
    }
  };
  try {
    while (!stopped()) {
      await broker.room(stopped);
      if (stopped()) break;
      void admit(await listener.accept());
    }
  } catch (err) {
    if (!stopped()) throw err;
  } finally {
    signal.removeEventListener('abort', stopAccepting);
    opts.windDown?.removeEventListener('abort', stopAccepting);
    await listener.close();
    await broker.closeAll();
  }
  return 0;
}
