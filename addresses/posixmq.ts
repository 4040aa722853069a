/**
 * POSIXMQ-READ, -RECEIVE (-RECV), -SEND, -WRITE and -BIDIRECTIONAL (and
 * socat's plain POSIXMQ): a Linux POSIX message queue, one message per
 * chunk. READ and BIDIRECTIONAL stay on the queue; RECEIVE takes one message
 * per session (with fork, one session per message); SEND and WRITE send what
 * they get, and with fork open a new session every `interval`.
 */
import { defineAddress } from '../src/define.js';
import type { AddressRequest, OpenContext } from '../src/engine/context.js';
import { applyFdOptions } from '../src/engine/descriptors/fdopts.js';
import type { AccessMode, Endpoint, Opened } from '../src/engine/endpoint.js';
import { type OpenedQueue, openQueue, unlinkQueue } from '../src/engine/posixmq/open-queue.js';
import { queueEndpoint } from '../src/engine/posixmq/queue-endpoint.js';
import { receiveListener, receiveOne } from '../src/engine/posixmq/receive-loop.js';
import { connectLoop } from '../src/engine/relay/connect-loop.js';
import { refuseOptions } from '../src/engine/sockets/generic-socket.js';
import { TsocatError } from '../src/errors.js';
import { mqClose } from '../src/sys/mqueue.js';

const GROUPS = ['FD', 'OPEN', 'NAMED', 'POSIXMQ', 'RETRY', 'APPL'] as const;
const FEATURES = ['POSIXMQ'];

/** OPEN and NAMED options socat's groups let through that mean nothing for a queue: refused, never ignored. */
const NOT_FOR_QUEUES = [
  'o-trunc', 'o-append', 'o-rdonly', 'o-wronly', 'o-rdwr', 'o-noctty', 'o-sync', 'o-noatime', 'o-nofollow', 'o-directory', 'o-dsync', 'o-rsync',
  'o-largefile', 'o-async', 'o-direct', 'unlink', 'unlink-late', 'user-early', 'group-early', 'perm-early',
];

type Kind = 'bidirectional' | 'read' | 'receive' | 'send';

function queueMode(kind: Kind, requested: AccessMode): AccessMode {
  if (kind === 'read' || kind === 'receive') return 'r';
  if (kind === 'send') return 'w';
  return requested;
}

async function openedQueue(req: AddressRequest, ctx: OpenContext, mode: AccessMode, first: boolean): Promise<OpenedQueue> {
  const queue = openQueue(req.keyword, req.params[0] as string, mode, req.options, ctx.log, first);
  try {
    await applyFdOptions(queue.mqd, req.options, { permAtOpen: true, signal: ctx.signal, log: ctx.log });
  } catch (err) {
    mqClose(queue.mqd);
    throw err;
  }
  return queue;
}

async function openPosixmq(kind: Kind, req: AddressRequest, ctx: OpenContext): Promise<Opened> {
  const o = req.options;
  const name = req.params[0] as string;
  if (req.keyword === 'POSIXMQ' && req.mode === 'rw') {
    throw new TsocatError('Keyword "POSIXMQ" in bidirectional mode might unwanted flush the queue; use "POSIXMQ-BIDIRECTIONAL" to confirm usage', 'EUSAGE');
  }
  refuseOptions(o, NOT_FOR_QUEUES, req.keyword);
  const mode = queueMode(kind, req.mode);
  const description = `POSIXMQ ${name}`;
  const onClosed = o.bool('unlink-close') ? () => unlinkQueue(name, ctx.log, 'W') : undefined;
  const { mqd, attributes } = await openedQueue(req, ctx, mode, true);
  if (kind === 'receive') {
    const queue = { keyword: req.keyword, mqd, msgsize: attributes.msgsize, description, log: ctx.log, onClosed };
    return o.bool('fork') ? receiveListener(queue) : receiveOne(queue, ctx.signal);
  }
  const priority = o.number('posixmq-priority') ?? 0;
  const endpointOver = (fd: number, msgsize: number, closed?: () => void): Endpoint =>
    queueEndpoint({ mqd: fd, msgsize, mode, priority, description, log: ctx.log, onClosed: closed });
  if (kind !== 'send' || !o.bool('fork')) return endpointOver(mqd, attributes.msgsize, onClosed);
  // fork on a sender: a new session (with the queue opened again) every interval, as a connecting address does;
  // unlink-close when the last one closes is left to the queue's own sessions
  const again = async () => {
    const next = await openedQueue(req, ctx, mode, false);
    return endpointOver(next.mqd, next.attributes.msgsize, onClosed);
  };
  return connectLoop(endpointOver(mqd, attributes.msgsize, onClosed), again, o.number('interval') ?? 1, ctx.signal);
}

const plugin = (kind: Kind, names: string[], summary: string, directions: AccessMode, child: boolean) =>
  defineAddress({
    names,
    params: ['mqname'],
    groups: child ? [...GROUPS, 'CHILD'] : GROUPS,
    features: FEATURES,
    directions,
    summary,
    open: (req, ctx) => openPosixmq(kind, req, ctx),
  });

export default [
  plugin('bidirectional', ['POSIXMQ-BIDIRECTIONAL', 'POSIXMQ'], 'a POSIX message queue, read and written (one message per chunk); plain POSIXMQ only one way', 'rw', false),
  plugin('read', ['POSIXMQ-READ'], 'read every message of a POSIX message queue as it comes, highest priority first', 'r', false),
  plugin('receive', ['POSIXMQ-RECEIVE', 'POSIXMQ-RECV'], 'take one message off a POSIX message queue per session (with fork, a session per message)', 'r', true),
  plugin('send', ['POSIXMQ-SEND'], 'send each chunk as one message to a POSIX message queue (mq-prio sets its priority)', 'w', true),
  plugin('send', ['POSIXMQ-WRITE'], 'send each chunk as one message to a POSIX message queue (as POSIXMQ-SEND)', 'w', true),
];
