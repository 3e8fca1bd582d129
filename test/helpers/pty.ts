import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export const hasTmux = spawnSync('tmux', ['-V']).status === 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A real terminal for a test: a tmux session of its own (own server socket), typed into key
 * by key as a person would, and read back from the screen.
 */
export class Pty {
  private readonly name = `smtpkit-pty-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  constructor(command: string, { width = 160, height = 50 } = {}) {
    // The shell line ends by printing the exit code and staying open, so the screen can be read after.
    const r = this.tmux(
      'new-session',
      '-d',
      '-s',
      this.name,
      '-x',
      String(width),
      '-y',
      String(height),
      `${command}; echo EXIT=$?; sleep 60`,
    );
    assert.equal(r.status, 0, r.stderr);
  }

  /** Everything on screen and in its scrollback. */
  screen(): string {
    return this.tmux('capture-pane', '-p', '-S', '-500', '-t', this.name).stdout;
  }

  /** Types text one character at a time, with a small pause between keys. */
  async type(text: string): Promise<void> {
    for (const ch of text) {
      this.tmux('send-keys', '-t', this.name, '-l', ch);
      await sleep(15);
    }
  }

  /** Sends text in one write, as a terminal does with a paste (\r for Enter). */
  async paste(text: string): Promise<void> {
    this.tmux('send-keys', '-t', this.name, '-l', text);
    await sleep(40);
  }

  /** Presses named keys (Enter, Up, C-c, C-d, Tab). */
  async key(...keys: string[]): Promise<void> {
    for (const k of keys) {
      this.tmux('send-keys', '-t', this.name, k);
      await sleep(40);
    }
  }

  async waitFor(pattern: RegExp, what: string, ms = 8000): Promise<void> {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (pattern.test(this.screen())) return;
    assert.fail(`${what} never appeared; the screen:\n${this.screen()}`);
  }

  /** The line the cursor is on (what is being typed at the prompt). */
  currentLine(): string {
    const y = Number(this.tmux('display-message', '-p', '-t', this.name, '#{cursor_y}').stdout.trim());
    return this.tmux('capture-pane', '-p', '-t', this.name).stdout.split('\n')[y] ?? '';
  }

  /**
   * How the program left the terminal: line mode with echo (as a shell wants it, not raw)
   * and a visible cursor. Read from the pane's tty itself, so it holds after the program exits.
   */
  terminalState(): { lineMode: boolean; echo: boolean; cursorVisible: boolean } {
    const tty = this.tmux('display-message', '-p', '-t', this.name, '#{pane_tty}').stdout.trim();
    const modes = spawnSync('stty', ['-F', tty, '-a'], { encoding: 'utf8' }).stdout.split(/[\s;]+/);
    const cursor = this.tmux('display-message', '-p', '-t', this.name, '#{cursor_flag}').stdout.trim();
    return { lineMode: modes.includes('icanon'), echo: modes.includes('echo'), cursorVisible: cursor === '1' };
  }

  close(): void {
    this.tmux('kill-server');
  }

  private tmux(...args: string[]) {
    return spawnSync('tmux', ['-L', this.name, ...args], { encoding: 'utf8' });
  }
}

/**
 * A command run to its end at a terminal `width` columns wide: everything it left on the
 * screen (scrollback included), read once it has exited.
 */
export async function onTerminal(command: string, width: number, what = 'the command'): Promise<string> {
  const pty = new Pty(command, { width, height: 150 });
  try {
    await pty.waitFor(/^EXIT=\d+/m, `${what} to finish`, 20_000);
    return pty.screen().replace(/^EXIT=\d+[\s\S]*$/m, '');
  } finally {
    pty.close();
  }
}
