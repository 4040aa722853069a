import { defineOptions } from './catalog.js';

/** POSIX message queues (the POSIXMQ-* addresses). */
export default defineOptions([
  { name: 'posixmq-priority', aliases: ['mq-prio'], type: 'uint', groups: ['POSIXMQ'], phase: 'init', summary: 'the priority each sent message gets (mq_send); higher ones are received first' },
  { name: 'posixmq-flush', aliases: ['mq-flush'], type: 'bool', groups: ['POSIXMQ'], phase: 'init', summary: 'throw away the messages already in the queue before opening it' },
  { name: 'posixmq-maxmsg', aliases: ['mq-maxmsg'], type: 'int', groups: ['POSIXMQ'], phase: 'open', summary: 'the most messages a queue created now holds (mq_attr.mq_maxmsg; the default from /proc/sys/fs/mqueue)' },
  { name: 'posixmq-msgsize', aliases: ['mq-msgsize'], type: 'int', groups: ['POSIXMQ'], phase: 'open', summary: 'the largest message a queue created now takes (mq_attr.mq_msgsize; the default from /proc/sys/fs/mqueue)' },
]);
