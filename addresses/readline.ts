/**
 * READLINE: tsocat's terminal with line editing and history (Node's
 * readline). Each line typed goes to the peer when Enter is pressed; what the
 * peer sends is printed above the line being edited. As in socat, the peer's
 * last unfinished line (a program's "Password: ") becomes the prompt, unless
 * `prompt` or `noprompt` say otherwise.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { PassThrough, type Readable, Writable } from 'node:stream';
import { isatty } from 'node:tty';
import { defineAddress } from '../src/define.js';
import { makeEndpoint } from '../src/engine/endpoint.js';
import { applyFdOptions } from '../src/engine/descriptors/fdopts.js';
import { systemError } from '../src/errors.js';

/** Earlier lines from the history file, newest first as Node's readline keeps them. */
function loadHistory(path: string | undefined): string[] {
  if (path === undefined) return [];
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean).reverse();
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return [];
    throw systemError(`open("${path}")`, err);
  }
}

/**
 * Where readline draws: stdout, except while a noecho line is typed. Muting is
 * decided when readline writes, not later when a queued write would reach stdout.
 */
class Screen extends Writable {
  muted = false;
  readonly isTTY = true;
  get columns(): number {
    return process.stdout.columns;
  }
  get rows(): number {
    return process.stdout.rows;
  }
  override write(chunk: unknown, ...rest: unknown[]): boolean {
    if (this.muted) return true;
    return process.stdout.write(chunk as string, ...(rest as []));
  }
}

export default defineAddress({
  names: ['READLINE'],
  params: [],
  groups: ['FD', 'TERMIOS', 'READLINE', 'APPL'],
  features: ['READLINE'],
  summary: "line editing and history on tsocat's terminal (Node's readline), for line-mode clients",
  async open(req) {
    const o = req.options;
    const restoreTerminal = await applyFdOptions(0, o);
    const historyFile = o.string('history-file');
    const noecho = o.has('noecho') ? new RegExp(o.string('noecho') as string) : undefined;
    const screen = new Screen();
    const terminal = isatty(0) && isatty(1);
    // Node's readline takes Ctrl-C and Ctrl-D itself; stdin stays tsocat's, as with STDIO
    const rl: Interface = createInterface({ input: process.stdin, output: terminal ? screen : undefined, terminal, history: loadHistory(historyFile), historySize: 1000, removeHistoryDuplicates: false, prompt: o.string('prompt') ?? '' });
    let promptText = o.string('prompt') ?? '';
    const lines = new PassThrough();
    rl.on('line', (line) => {
      if (screen.muted) {
        screen.muted = false;
        (rl as unknown as { history: string[] }).history.shift();
        process.stdout.write('\n');
      } else if (historyFile !== undefined && line !== '') {
        appendFileSync(historyFile, `${line}\n`);
      }
      lines.write(`${line}\n`);
    });
    rl.on('close', () => lines.end());
    rl.on('SIGINT', () => rl.close());
    const showPrompt = () => {
      if (!terminal) return;
      rl.setPrompt(promptText);
      rl.prompt(true);
      if (noecho?.test(promptText)) screen.muted = true;
    };
    // what the peer sends: whole lines printed above the edited line; an unfinished one is the prompt
    const output = new Writable({
      write(chunk: Buffer, _enc, cb) {
        const text = chunk.toString('utf8');
        const cut = text.lastIndexOf('\n') + 1;
        const whole = text.slice(0, cut);
        const rest = text.slice(cut);
        if (terminal) process.stdout.write('\r\x1b[K');
        process.stdout.write(o.bool('noprompt') || o.has('prompt') ? text : whole, () => {
          if (!o.has('prompt') && !o.bool('noprompt')) promptText = cut ? rest : promptText + rest;
          // noprompt: the peer's text stays as it was printed, readline does not draw over it
          if (!o.bool('noprompt')) showPrompt();
          cb();
        });
      },
    });
    if (terminal) showPrompt();
    const readable: Readable = lines;
    return makeEndpoint({
      readable,
      writable: output,
      description: 'READLINE',
      shutdownWrite: () => {},
      close: async () => {
        rl.close();
        if (terminal) process.stdout.write('\n');
        restoreTerminal?.();
      },
    });
  },
});
