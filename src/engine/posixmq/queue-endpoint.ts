/**
 * A POSIX message queue as an endpoint that keeps message boundaries: one
 * mq_receive is one chunk, one chunk written is one mq_send. The queue
 * descriptor is non-blocking and watched by the event loop (src/sys/poll.ts),
 * so a queue with nothing in it, or a full one, holds up nothing else.
 */
import { Readable, Writable } from 'node:stream';
import type { Logger } from '../../log/logger.js';
import { mqClose, mqReceive, mqSend } from '../../sys/mqueue.js';
import { DescriptorWatch, UV_READABLE, UV_WRITABLE } from '../../sys/poll.js';
import { type AccessMode, type Endpoint, makeEndpoint } from '../endpoint.js';

export interface ReceivedMessage {
  data: Buffer;
  priority: number;
}

interface QueueEndpointOptions {
  mqd: number;
  msgsize: number;
  mode: AccessMode;
  priority: number;
  description: string;
  log: Logger;
  /** Called after the descriptor is closed (unlink-close). */
  onClosed?: () => void;
}

/** Data read and written through one watched queue descriptor; the endpoint owns the descriptor. */
export function queueEndpoint(q: QueueEndpointOptions): Endpoint {
  let readWanted = false;
  let pending: { data: Buffer; done: (err?: Error | null) => void } | undefined;
  let readable: Readable | undefined;
  let writable: Writable | undefined;
  const buf = Buffer.allocUnsafe(q.msgsize);

  const watch = new DescriptorWatch(q.mqd, (status, events) => {
    if (status < 0) events = UV_READABLE | UV_WRITABLE;
    if (events & UV_WRITABLE && pending) sendPending();
    if (events & UV_READABLE && readWanted) receiveSome();
  });
  const want = () => watch.want((readWanted ? UV_READABLE : 0) | (pending ? UV_WRITABLE : 0));

  const receiveSome = () => {
    if (!readable || readable.destroyed) return;
    readWanted = false;
    let got: ReturnType<typeof mqReceive>;
    try {
      got = mqReceive(q.mqd, buf);
    } catch (err) {
      return readable.destroy(new Error(`mq_receive(mqd=${q.mqd}): ${(err as Error).message}`));
    }
    if (!got) {
      readWanted = true;
      return want();
    }
    q.log.log('I', `mq_receive() ->  {prio=${got.priority}}`);
    readable.push(Buffer.from(buf.subarray(0, got.length)));
    want();
  };

  const sendPending = () => {
    if (!pending) return;
    const { data, done } = pending;
    try {
      if (!mqSend(q.mqd, data, q.priority)) return want();
    } catch (err) {
      pending = undefined;
      want();
      return done(new Error(`mq_send(mqd=${q.mqd}): ${(err as Error).message}`));
    }
    pending = undefined;
    want();
    done();
  };

  if (q.mode !== 'w') {
    readable = new Readable({
      objectMode: true,
      read: receiveSome,
    });
  }
  if (q.mode !== 'r') {
    writable = new Writable({
      // one message per write(): never let Node join queued writes
      highWaterMark: q.msgsize,
      write(data: Buffer, _encoding, done) {
        pending = { data, done };
        sendPending();
      },
    });
  }

  let closed: Promise<void> | undefined;
  return makeEndpoint({
    readable,
    writable,
    datagram: true,
    readFd: q.mqd,
    description: q.description,
    // a queue has no half-close: the other side's end of file sends nothing
    shutdownWrite: () => {},
    close: () => {
      closed ??= (async () => {
        readWanted = false;
        pending = undefined;
        readable?.destroy();
        writable?.destroy();
        await watch.close();
        try {
          mqClose(q.mqd);
        } catch (err) {
          q.log.log('W', `mq_close(${q.mqd}) -> -1: ${(err as Error).message}`);
        }
        q.onClosed?.();
      })();
      return closed;
    },
  });
}

/** One message already received (POSIXMQ-RECEIVE): read once, then end of file. Owns no descriptor. */
export function messageEndpoint(message: ReceivedMessage, description: string, onClosed?: () => void): Endpoint {
  const readable = new Readable({ objectMode: true, read() {} });
  readable.push(message.data);
  readable.push(null);
  let closed = false;
  return makeEndpoint({
    readable,
    datagram: true,
    description,
    connectionInfo: { POSIXMQ_PRIO: String(message.priority) },
    shutdownWrite: () => {},
    close: async () => {
      if (closed) return;
      closed = true;
      readable.destroy();
      onClosed?.();
    },
  });
}
