/**
 * POSIXMQ-RECEIVE: each message is a session of its own (socat's oneshot
 * read). Without fork the address waits for one message, and its session
 * ends after it; with fork the queue is a listener that hands out one
 * session per message. socat forks a child when the queue is readable and
 * waits until the child has taken the message; here the message is taken
 * before its session starts, which gives the same one-message-per-session
 * without the hand-shake, and with max-children the relay asks for the next
 * message only when a slot is free, so the rest wait in the queue.
 */
import { TsocatError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { mqClose, mqReceive } from '../../sys/mqueue.js';
import { DescriptorWatch, UV_READABLE } from '../../sys/poll.js';
import { onAbort } from '../abort.js';
import type { Endpoint, Listener } from '../endpoint.js';
import { messageEndpoint, type ReceivedMessage } from './queue-endpoint.js';

export interface ReceiveQueue {
  keyword: string;
  mqd: number;
  msgsize: number;
  description: string;
  log: Logger;
  /** After the queue's descriptor is closed (unlink-close). */
  onClosed?: () => void;
}

/** Takes messages off a queue one at a time, waiting on the event loop while it is empty. */
class MessageTaker {
  private readonly watch: DescriptorWatch;
  private readonly buf: Buffer;
  private waiter?: { resolve: (m: ReceivedMessage) => void; reject: (e: Error) => void };
  private closed = false;

  constructor(private readonly q: ReceiveQueue) {
    this.buf = Buffer.allocUnsafe(q.msgsize);
    this.watch = new DescriptorWatch(q.mqd, () => this.tryTake());
  }

  next(): Promise<ReceivedMessage> {
    if (this.closed) return Promise.reject(new TsocatError('message queue closed', 'ECLOSED'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.q.log.log('I', `${this.q.keyword}: waiting for data or interval`);
      this.tryTake();
    });
  }

  private tryTake() {
    const waiter = this.waiter;
    if (!waiter) return this.watch.want(0);
    let got: ReturnType<typeof mqReceive>;
    try {
      got = mqReceive(this.q.mqd, this.buf);
    } catch (err) {
      this.waiter = undefined;
      this.watch.want(0);
      return waiter.reject(new TsocatError(`mq_receive(mqd=${this.q.mqd}): ${(err as Error).message}`, 'EMQUEUE'));
    }
    if (!got) return this.watch.want(UV_READABLE);
    this.waiter = undefined;
    this.watch.want(0);
    this.q.log.log('I', `mq_receive() ->  {prio=${got.priority}}`);
    waiter.resolve({ data: Buffer.from(this.buf.subarray(0, got.length)), priority: got.priority });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiter?.reject(new TsocatError('message queue closed', 'ECLOSED'));
    this.waiter = undefined;
    await this.watch.close();
    try {
      mqClose(this.q.mqd);
    } catch (err) {
      this.q.log.log('W', `mq_close(${this.q.mqd}) -> -1: ${(err as Error).message}`);
    }
    this.q.onClosed?.();
  }
}

/** Without fork: waits for one message and closes the queue; the endpoint reads it, then end of file. */
export async function receiveOne(q: ReceiveQueue, signal: AbortSignal): Promise<Endpoint> {
  const taker = new MessageTaker({ ...q, onClosed: undefined });
  const stopFollowing = onAbort(signal, () => void taker.close());
  try {
    const message = await taker.next();
    return messageEndpoint(message, q.description, q.onClosed);
  } catch (err) {
    q.onClosed?.();
    throw err;
  } finally {
    stopFollowing();
    await taker.close();
  }
}

/** With fork: a listener whose peers are the queue's messages, one session each. */
export function receiveListener(q: ReceiveQueue): Listener {
  const taker = new MessageTaker(q);
  q.log.log('I', 'starting POSIX-MQ fork loop');
  return {
    kind: 'listener',
    description: q.description,
    async accept() {
      return messageEndpoint(await taker.next(), q.description);
    },
    close: () => taker.close(),
  };
}
