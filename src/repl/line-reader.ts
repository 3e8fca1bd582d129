import readline from 'node:readline';

export interface LineReaderOptions {
  /** Line editing, history and a prompt on the output (a terminal on both sides). */
  terminal: boolean;
  /** Earlier lines, most recent first; kept in memory for the Up arrow. */
  history: string[];
  completer?: (line: string) => [string[], string];
}

/** Lines queued from a script before we stop reading it, so a huge script is not read whole. */
const SCRIPT_QUEUE = 64;

/** What Ctrl-C sends in raw mode (the terminal's mode at our prompt and between prompts). */
const CTRL_C = 0x03;

type DataListener = (chunk: Buffer | string) => void;

/** A watch for Ctrl-C while a command waits (see watchInterrupt). */
interface Watch {
  onCtrlC: () => boolean;
  /** While reading the terminal: what else was typed, in order, and who read it before us. */
  reading?: { kept: Buffer[]; listener: DataListener; others: DataListener[] };
  sigint?: () => void;
}

/** How many lines held keys make: each Enter ends one (CRLF once), and a rest without Enter is one more. */
function heldLines(keys: Buffer): number {
  let lines = 0;
  let start = 0;
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] !== 0x0d && keys[i] !== 0x0a) continue;
    if (keys[i] === 0x0d && keys[i + 1] === 0x0a) i++;
    lines++;
    start = i + 1;
  }
  return lines + (start < keys.length ? 1 : 0);
}

/**
 * The REPL's source of lines. At a terminal it can hand the terminal over completely to a
 * prompt (a secret, /send's questions): its readline is closed meanwhile, so no key typed
 * at the prompt can reach the session, the screen or the history. It reopens afterwards
 * with the same in-memory history.
 */
export class LineReader {
  private rl: readline.Interface | undefined;
  private readonly queue: string[] = [];
  /** For each queued line, the read it came in: a paste brings several lines at once. */
  private readonly arrivals: { lines: number }[] = [];
  private arrival: { lines: number } | undefined;
  /** The read of the line handed out last (counted on until that read is done). */
  private lastArrival: { lines: number } | undefined;
  private waiter: ((line: string | null) => void) | undefined;
  private ended = false;
  private promptText = '';
  private handedOver = false;
  private watch: Watch | undefined;
  /**
   * Keys typed while a command waited, not handed on yet: they go on one line at a time,
   * as if typed, so a line that opens a prompt (/auth) is handled before the next line is
   * read, and a password typed after it goes to that prompt, unechoed, not to readline.
   */
  private held: Buffer | undefined;
  /** A person types the input (a terminal), even when the output goes to a file. */
  private readonly typed: boolean;

  constructor(
    private readonly input: NodeJS.ReadStream,
    private readonly output: NodeJS.WriteStream | undefined,
    private readonly options: LineReaderOptions,
  ) {
    this.typed = input.isTTY === true;
    this.open();
  }

  /** The next line, or null once input has ended (Ctrl-D, end of the script). */
  next(): Promise<string | null> {
    const line = this.take();
    if (!this.typed && this.queue.length < SCRIPT_QUEUE / 2) this.rl?.resume();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /**
   * Shows the prompt (a terminal only) and reads keys again. Between a line and the next
   * prompt the terminal is not read: keys typed meanwhile wait in its buffer for whoever
   * reads next, so a password typed ahead of its prompt goes to that prompt.
   */
  prompt(text: string): void {
    this.promptText = text;
    if (!this.rl || !this.typed) return;
    // A line pasted with the last one is handled at once: a prompt shown before it would
    // have what it sends (" -> RSET") written on the prompt's line.
    if (this.queue.length) return;
    if (this.options.terminal) {
      this.rl.setPrompt(text);
      // The cursor stays where it was: a line half typed before output came (a reply nobody
      // asked for) goes on where the person left it, not before its first character.
      this.rl.prompt(true);
    }
    this.release();
    this.rl.resume();
  }

  /** Clears the line being typed, for output that arrives while the prompt is shown. */
  clearLine(): void {
    if (!this.output || !this.options.terminal) return;
    // A prompt owns the terminal: its line is not ours to clear; start below it.
    if (this.handedOver) return void this.output.write('\n');
    readline.clearLine(this.output, 0);
    readline.cursorTo(this.output, 0);
  }

  /**
   * Output is about to start below the line just entered. A line pasted after it without
   * its Enter sits where that output would go: it is taken off the screen (not out of the
   * editor: the next prompt shows it again, to be finished).
   */
  clearPartial(): void {
    if (this.rl?.line && this.output && this.options.terminal) this.clearLine();
  }

  /**
   * Takes the line just entered off the screen (the prompt and what was typed after it),
   * when it was typed alone: the transcript shows it again, under its arrow, so it shows
   * once. A paste's lines were echoed together, not after a prompt each: they stay.
   */
  eraseEntered(line: string): void {
    const out = this.output;
    if (!out?.columns || !this.options.terminal || this.lastArrival?.lines !== 1 || this.handedOver) return;
    // Readline starts a new row when the text fills the last column exactly, so this holds
    // for every length; wide characters only make it erase less, never a line above.
    const rows = Math.floor(([...this.promptText].length + [...line].length) / out.columns) + 1;
    readline.moveCursor(out, 0, -rows);
    readline.clearScreenDown(out);
  }

  /** Takes a line out of the in-memory history (a secret typed at the main prompt). */
  forget(line: string): void {
    const i = this.options.history.indexOf(line);
    if (i >= 0) this.options.history.splice(i, 1);
  }

  /**
   * Runs `fn` (a prompt) with the terminal all to itself: our readline is closed, so not a
   * keystroke reaches it, and opened again afterwards on a clean line. The same when only
   * the input is a terminal (output to a file): the keys must still go to the prompt only.
   */
  async handOver<T>(fn: () => Promise<T>, onDiscard?: (lines: number) => void): Promise<T> {
    if (!this.typed || !this.rl) return fn();
    // The prompt reads the keys (Ctrl-C cancels it) from here on.
    const watch = this.watch;
    if (watch) this.unwatch(watch);
    // Lines that arrived in one paste with the command that opened the prompt, or typed
    // after it while an earlier command waited, were meant for the prompt, or for later:
    // never send them on a guess. Nor show them: the prompt (inquirer) drops keys that were
    // waiting when it opened, so held keys go nowhere but here.
    const dropped = this.discardAhead();
    if (dropped) onDiscard?.(dropped);
    const rl = this.rl;
    this.rl = undefined;
    rl.close();
    this.handedOver = true;
    try {
      return await fn();
    } finally {
      this.handedOver = false;
      if (!this.ended) this.open();
      if (watch && this.watch === watch) this.startWatch(watch);
    }
  }

  /**
   * Drops every line typed or pasted ahead of the one being handled: read and queued, held
   * from an earlier wait, typed during the current one, or pasted without its Enter. They
   * were meant for an exchange that is over (a password after an AUTH that was refused) or
   * for a prompt that never sees them: sent on a guess they could put a secret on the wire.
   * Returns how many lines went.
   */
  discardAhead(): number {
    const queued = this.queue.splice(0);
    this.arrivals.splice(0);
    // Readline put them in the history the Up arrow recalls: a password among them must not be.
    for (const line of queued) this.forget(line);
    const kept = this.watch?.reading?.kept ?? [];
    const keys = Buffer.concat([...(this.held ? [this.held] : []), ...kept.splice(0)]);
    this.held = undefined;
    // The start of a line pasted without its Enter, waiting at the prompt to be finished.
    const rl = this.rl as (readline.Interface & { line: string; cursor: number }) | undefined;
    const partial = rl?.line ? 1 : 0;
    if (rl && partial) [rl.line, rl.cursor] = ['', 0];
    return queued.length + (keys.length ? heldLines(keys) : 0) + partial;
  }

  /**
   * Until the returned function is called (a command waits for its reply), Ctrl-C calls
   * `onCtrlC`; when that returns false (nothing to stop), the key stays typed like any other.
   * At a terminal in raw mode (line editing) the terminal is read meanwhile only to see that
   * key: every other key is kept, in order, and handed on a line at a time as if typed then
   * (to the next prompt; discarded, with a warning, at a secret's prompt or on the way out). A terminal in line
   * mode turns Ctrl-C into SIGINT itself (and drops what was typed). A script: nothing.
   */
  watchInterrupt(onCtrlC: () => boolean): () => void {
    if (!this.typed || !this.rl || this.watch) return () => {};
    const watch: Watch = { onCtrlC };
    this.watch = watch;
    this.startWatch(watch);
    return () => {
      if (this.watch !== watch) return;
      this.unwatch(watch);
      this.watch = undefined;
    };
  }

  private startWatch(watch: Watch) {
    const input = this.input;
    watch.sigint = () => void watch.onCtrlC();
    process.on('SIGINT', watch.sigint);
    if (!input.isRaw || !this.rl) return;
    // Our readline keeps its place, paused, and sees nothing until the watch ends.
    this.rl.pause();
    const others = input.listeners('data') as DataListener[];
    input.removeAllListeners('data');
    // Keys still held from an earlier wait were typed before any read now.
    const kept: Buffer[] = this.held ? [this.held] : [];
    this.held = undefined;
    const listener: DataListener = (chunk) => {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (let i = data.indexOf(CTRL_C); i >= 0; i = data.indexOf(CTRL_C, i + 1)) {
        // Taken: reading stops; what was typed around it waits, unread, as it would have.
        if (watch.onCtrlC()) {
          kept.push(data.subarray(0, i), data.subarray(i + 1));
          return this.unwatch(watch);
        }
      }
      kept.push(data);
    };
    watch.reading = { kept, listener, others };
    input.on('data', listener);
    input.resume();
  }

  /** Ends reading for the watch: the keys typed meanwhile go back, first in line. */
  private unwatch(watch: Watch) {
    if (watch.sigint) process.off('SIGINT', watch.sigint);
    watch.sigint = undefined;
    const reading = watch.reading;
    if (!reading) return;
    watch.reading = undefined;
    const input = this.input;
    input.off('data', reading.listener);
    input.pause();
    for (const l of reading.others) input.on('data', l);
    const kept = Buffer.concat(reading.kept);
    this.held = kept.length ? kept : undefined;
  }

  /**
   * Hands the next held line (through its Enter) back to the terminal's stream, first in
   * line, for whoever reads next; the rest stays held until the next read begins.
   */
  private release() {
    const held = this.held;
    if (!held) return;
    const input = this.input;
    if (input.readableEnded || input.destroyed) return void (this.held = undefined);
    let end = held.findIndex((b) => b === 0x0d || b === 0x0a);
    // A CRLF (a paste) is one line end, not an empty line after it.
    if (end >= 0 && held[end] === 0x0d && held[end + 1] === 0x0a) end++;
    const next = end < 0 ? held : held.subarray(0, end + 1);
    this.held = next.length < held.length ? held.subarray(next.length) : undefined;
    input.unshift(next);
  }

  /**
   * Reads and drops whatever was typed but not read yet (the terminal holds keys between a
   * line and the next prompt). Called on the way out: left unread, the keys would go to
   * the shell, which would run them, a typed-ahead password included. Returns their count.
   */
  async discardUnread(): Promise<number> {
    if (!this.typed || typeof this.input.setRawMode !== 'function') return 0;
    const held = this.held?.length ?? 0;
    this.held = undefined;
    return held + (await this.readUnread()).length;
  }

  /**
   * discardAhead(), and the lines still unread in the terminal: with no line editing (line
   * mode) nothing reads it while a command waits, so what was typed meanwhile is there yet.
   */
  async discardAheadAndUnread(): Promise<number> {
    const read = this.discardAhead();
    // With line editing, the watch read every key typed during the wait: discardAhead had them.
    const unread = this.watch?.reading ? Buffer.alloc(0) : await this.readUnread();
    return read + (unread.length ? heldLines(unread) : 0);
  }

  /** Reads, for nobody else (a paused readline included), the keys the terminal holds unread. */
  private async readUnread(): Promise<Buffer> {
    const input = this.input;
    if (!this.typed || typeof input.setRawMode !== 'function' || input.readableEnded || input.destroyed)
      return Buffer.alloc(0);
    const keys: Buffer[] = [];
    const take = (data: Buffer | string) => keys.push(typeof data === 'string' ? Buffer.from(data) : data);
    const others = input.listeners('data') as DataListener[];
    input.removeAllListeners('data');
    const wasRaw = input.isRaw;
    // Raw, so a line typed without Enter is readable too.
    input.setRawMode(true);
    input.on('data', take);
    input.resume();
    // What the terminal holds arrives within one read; a short wait covers a busy machine.
    await new Promise((resolve) => setTimeout(resolve, 25));
    input.off('data', take);
    input.pause();
    input.setRawMode(wasRaw);
    for (const l of others) input.on('data', l);
    return Buffer.concat(keys);
  }

  close(): void {
    this.ended = true;
    const rl = this.rl;
    this.rl = undefined;
    rl?.close();
    this.flush();
  }

  private open() {
    const rl = readline.createInterface({
      input: this.input,
      output: this.options.terminal ? this.output : undefined,
      terminal: this.options.terminal,
      // Shared, not copied: readline adds each line to this very array, and forget() edits it.
      history: this.options.history,
      historySize: 500,
      removeHistoryDuplicates: true,
      completer: this.options.completer,
    });
    this.rl = rl;
    rl.on('line', (line) => {
      // Lines of one read arrive together, before anything else runs.
      if (!this.arrival) {
        this.arrival = { lines: 0 };
        queueMicrotask(() => (this.arrival = undefined));
      }
      this.arrival.lines++;
      this.arrivals.push(this.arrival);
      this.queue.push(line);
      if (this.typed || this.queue.length >= SCRIPT_QUEUE) rl.pause();
      this.flush();
    });
    // Closed by us in handOver(): not the end of input. Closed otherwise: Ctrl-D or EOF.
    rl.on('close', () => {
      if (this.rl !== rl) return;
      this.rl = undefined;
      // Ctrl-D at the prompt: what comes next (QUIT going out) starts on a line of its own.
      if (this.options.terminal && this.typed) this.output?.write('\n');
      this.ended = true;
      this.flush();
    });
    // Ctrl-C at our prompt clears the line, as a shell does.
    rl.on('SIGINT', () => {
      rl.write(null, { ctrl: true, name: 'e' });
      rl.write(null, { ctrl: true, name: 'u' });
      this.output?.write('\n');
      this.prompt(this.promptText);
    });
  }

  private flush() {
    const waiter = this.waiter;
    if (!waiter) return;
    const line = this.take();
    if (line === undefined && !this.ended) return;
    this.waiter = undefined;
    waiter(line ?? null);
  }

  private take(): string | undefined {
    this.lastArrival = this.arrivals.shift();
    return this.queue.shift();
  }
}
