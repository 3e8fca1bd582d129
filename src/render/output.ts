import { escapeKeepingLayout } from './escape.js';
import { markersToSgr, paint as loadPaint, plain, type Paint } from './paint.js';
import { wrapLine } from './wrap.js';

/** Anything text can be written to: a renderer's target. */
export interface Stream {
  write(text: string): unknown;
}

/**
 * What a command gets instead of process.stdout/stderr: the only road to the terminal.
 * Both streams escape every control character at the point of writing, whatever the
 * text's origin, then put back the colours that `paint` marked.
 */
export interface Output {
  readonly stdout: Stream;
  readonly stderr: Stream;
  /**
   * A product rather than a report (send --dry-run's message): byte for byte into a pipe or
   * file; on a terminal, CRLF shown as line ends and everything else escaped like the rest.
   */
  readonly data: { write(bytes: Buffer): unknown };
  readonly paint: Paint;
  /** The terminal's columns when stdout is a terminal; undefined (no wrapping) otherwise. */
  readonly width: number | undefined;
}

interface Target {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Escaped, wrapped to `width` when given, colours restored: the bytes that may reach a terminal. */
export function safeText(text: string, width?: number): string {
  const escaped = escapeKeepingLayout(text);
  if (!width) return markersToSgr(escaped);
  return markersToSgr(
    escaped
      .split('\n')
      .flatMap((l) => (l ? wrapLine(l, width) : [l]))
      .join('\n'),
  );
}

/** Wraps only on a terminal that reports a size (a pty without one reports 0). */
const columnsOf = (t: Target) => (t.isTTY && (t.columns ?? 0) > 0 ? t.columns : undefined);

export function writer(target: Target): Stream {
  return { write: (text: string) => target.write(safeText(text, columnsOf(target))) };
}

/** How a run is to be shown, as the command line asked (src/cli/groups/output.ts). */
export interface OutputSpec {
  /** One JSON document instead of the transcript. */
  json: boolean;
  /** Only the outcome line. */
  quiet: boolean;
  /** One line per exchange. */
  brief: boolean;
  /** The raw bytes too. */
  verbose: boolean;
  /** false: no colours (--no-color); undefined: as the terminal and environment say. */
  color: false | undefined;
}

/** The process's own terminal (or pipes), with colour as the flags and environment say. */
export async function processOutput(flags: { color?: boolean } = {}): Promise<Output> {
  return {
    stdout: writer(process.stdout),
    stderr: writer(process.stderr),
    data: process.stdout.isTTY
      ? { write: (bytes: Buffer) => writer(process.stdout).write(bytes.toString('utf8').replace(/\r\n/g, '\n')) }
      : process.stdout,
    paint: await loadPaint(flags, process.stdout),
    width: columnsOf(process.stdout),
  };
}

/** Collects what would be written (both streams in order) without colour: for tests and buffering. */
export function memoryOutput(width?: number): Output & { text(): string; out: string; err: string } {
  const state = { all: '', out: '', err: '' };
  const stream = (key: 'out' | 'err'): Stream => ({
    write: (text: string) => {
      const safe = safeText(text, width);
      state[key] += safe;
      state.all += safe;
    },
  });
  return {
    stdout: stream('out'),
    stderr: stream('err'),
    data: { write: (bytes: Buffer) => stream('out').write(bytes.toString('utf8')) },
    paint: plain,
    width,
    text: () => state.all,
    get out() {
      return state.out;
    },
    get err() {
      return state.err;
    },
  };
}
