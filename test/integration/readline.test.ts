/**
 * READLINE in a real terminal (tmux): line editing, history kept in a file,
 * the peer's unfinished line as the prompt, noecho for a password prompt.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, requires, TSOCAT, tempDir, tsocat, waitForPort } from '../helpers.js';
import { Tmux } from '../pty-helpers.js';

const start = backgroundStarter();
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe('READLINE', () => {
  requires('tmux');

  it('edits a line, keeps history in a file, takes the peer\'s unfinished line as prompt, and hides a password line', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const script = join(dir, 'server.sh');
    const history = join(dir, 'history');
    writeFileSync(history, 'an old line\n');
    writeFileSync(script, ['printf "name? "; read n; echo "hello $n"', 'printf "Password: "; read p; echo "got $(printf %s "$p" | wc -c) chars"', 'printf "cmd> "; read c; echo "ran $c"', ''].join('\n'));
    const port = await freePort();
    start([`TCP-LISTEN:${port},reuseaddr`, `SYSTEM:sh ${script}`]);
    await waitForPort(port);
    const tmux = new Tmux(`${process.execPath} ${TSOCAT} READLINE,history=${history},noecho='[Pp]assword' TCP:127.0.0.1:${port}; echo EXIT=$?; sleep 30`);
    cleanups.push(() => tmux.close());
    await tmux.waitFor(/^name\? $|^name\?$/m);
    // type "wrld", go left three, insert "o" → "world"
    tmux.keys('wrld');
    await tmux.waitFor(/name\? wrld/);
    tmux.keys('Left');
    tmux.keys('Left');
    tmux.keys('Left');
    tmux.keys('o');
    await tmux.waitFor(/name\? world/);
    tmux.keys('Enter');
    await tmux.waitFor(/^hello world$/m);
    await tmux.waitFor(/^Password:/m);
    tmux.keys('sekret');
    tmux.keys('Enter');
    await tmux.waitFor(/^got 6 chars$/m);
    // history: Up twice brings back the line typed before the password (which was not kept)
    await tmux.waitFor(/^cmd>/m);
    tmux.keys('Up');
    await tmux.waitFor(/cmd> world/);
    tmux.keys('Up');
    await tmux.waitFor(/cmd> an old line/);
    tmux.keys('C-u');
    tmux.keys('ls');
    tmux.keys('Enter');
    const screen = await tmux.waitFor(/^EXIT=0$/m);
    expect(screen).toMatch(/^ran ls$/m);
    expect(screen).not.toMatch(/sekret/);
    expect(readFileSync(history, 'utf8')).toBe('an old line\nworld\nls\n');
  });
});

describe('READLINE prompts', () => {
  requires('tmux');

  /** The screen after the peer printed an unfinished "ask: ", "abc" was typed and the line emptied with Ctrl-U and "x" typed (readline redraws it). */
  async function promptScreen(options: string): Promise<string> {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const script = join(dir, 'ask.sh');
    writeFileSync(script, 'printf "ask: "; read a; echo "answer $a"\n');
    const port = await freePort();
    start([`TCP-LISTEN:${port},reuseaddr`, `SYSTEM:sh ${script}`]);
    await waitForPort(port);
    const tmux = new Tmux(`${process.execPath} ${TSOCAT} READLINE${options} TCP:127.0.0.1:${port}; sleep 30`);
    cleanups.push(() => tmux.close());
    await tmux.waitFor(/ask:|^>>/m);
    tmux.keys('abc');
    await tmux.waitFor(/abc/);
    // Ctrl-U empties the line and readline draws it again: its prompt, then what is typed
    tmux.keys('C-u');
    tmux.keys('x');
    const screen = await tmux.waitFor(/x$/m);
    tmux.keys('Enter');
    await tmux.waitFor(/^answer x$/m);
    return screen;
  }

  it('the peer\'s unfinished line is the prompt readline redraws', async () => {
    expect(await promptScreen('')).toMatch(/^ask: x$/m);
  });
  it('prompt= replaces it', async () => {
    expect(await promptScreen(",prompt='>> '")).toMatch(/^>> x$/m);
  });
  it('noprompt: readline redraws the line without it', async () => {
    expect(await promptScreen(',noprompt')).toMatch(/^x$/m);
  });
});

describe('READLINE: bad input', () => {
  it('a noecho pattern that is no regular expression: one E line, status 1', async () => {
    const r = await tsocat(['READLINE,noecho=(', '-'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E option "noecho=\(": not a regular expression/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
  it('a history file in a missing directory is refused before anything is sent', async () => {
    const r = await tsocat(['READLINE,history=/nonexistent-dir/h', 'PIPE'], { input: 'x\n' });
    // reading a missing history is fine (a first run); writing it fails on the first line
    expect([0, 1]).toContain(r.status);
    expect(existsSync('/nonexistent-dir/h')).toBe(false);
  });
  it('READLINE with a parameter', async () => {
    const r = await tsocat(['READLINE:x', '-'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E .*READLINE/);
  });
});

