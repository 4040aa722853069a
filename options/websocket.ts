import { TsocatError } from '../src/errors.js';
import { defineOptions } from './catalog.js';

/** An HTTP header name is a token (RFC 9110 §5.6.2); the value may be anything but a line end. */
const HEADER = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*$/;

function checkHeader(value: string, optionText: string): void {
  if (!HEADER.test(value)) throw new TsocatError(`option "${optionText}": expected <name>:<value>, a header name without spaces`, 'EOPTVALUE');
}

function checkCredentials(value: string, optionText: string): void {
  if (!value.includes(':')) throw new TsocatError(`option "${optionText}": expected <user>:<password>`, 'EOPTVALUE');
}

/** What WS, WSS, WS-LISTEN and WSS-LISTEN add to TCP (and OPENSSL): how messages are framed, kept alive and let in. */
export default defineOptions([
  { name: 'ws-binary', type: 'bool', groups: ['WEBSOCKET'], phase: 'late', summary: 'send every message as a binary frame (by default a message that is valid UTF-8 goes as text, any other as binary)' },
  { name: 'ws-text', type: 'bool', groups: ['WEBSOCKET'], phase: 'late', summary: 'send every message as a text frame: bytes that are not UTF-8 become U+FFFD, a character cut between two reads waits for its rest' },
  { name: 'ws-ping', type: 'timeval', groups: ['WEBSOCKET'], phase: 'late', summary: 'send a ping every <seconds>; a peer whose pong has not come by the next one is gone (the relay ends with an error)' },
  { name: 'ws-protocol', type: 'string', groups: ['WEBSOCKET'], phase: 'connect', summary: 'subprotocol: a client asks for it and fails if the server does not choose it; a listener chooses it and refuses clients that do not offer it' },
  { name: 'ws-header', type: 'string', groups: ['WEBSOCKET'], phase: 'connect', repeatable: true, check: checkHeader, summary: '<name>:<value>, an extra HTTP header: in the request of a client, in the 101 answer of a listener (repeat the option for more)' },
  { name: 'ws-deflate', type: 'bool', groups: ['WEBSOCKET'], phase: 'connect', summary: 'per-message deflate (RFC 7692): a client offers it, a listener accepts it when offered; without it, neither side compresses' },
  { name: 'ws-auth', type: 'string', groups: ['WEBSOCKET'], phase: 'connect', check: checkCredentials, summary: '<user>:<password>: a client sends them as HTTP basic authentication; a listener requires them and answers others 401' },
]);
