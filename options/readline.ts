import { TsocatError } from '../src/errors.js';
import { defineOptions } from './catalog.js';

/** noecho's pattern must compile, so a typo fails before anything opens. */
function checkPattern(value: string, optionText: string): void {
  try {
    new RegExp(value);
  } catch (err) {
    throw new TsocatError(`option "${optionText}": not a regular expression (${(err as Error).message})`, 'EOPTVALUE');
  }
}

/** READLINE: line editing (Node's readline) on tsocat's terminal. */
export default defineOptions([
  { name: 'history-file', aliases: ['history'], type: 'filename', groups: ['READLINE'], phase: 'late', summary: 'read earlier input lines from this file, and add each new one to it' },
  { name: 'prompt', type: 'string', groups: ['READLINE'], phase: 'late', summary: 'show this prompt before each input line (instead of the last unfinished line the peer sent)' },
  { name: 'noprompt', type: 'bool', groups: ['READLINE'], phase: 'late', summary: "do not take the peer's last unfinished output line as the prompt" },
  { name: 'noecho', type: 'string', groups: ['READLINE'], phase: 'late', summary: 'a regular expression: when the prompt matches it, the next line is neither shown nor kept in history (passwords)', check: checkPattern },
]);
