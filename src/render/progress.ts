/** A spinner on standard error that shows how far a long run is ("probing 3/10"). */
export interface Progress {
  /** Says the new text (what follows the label) now. */
  update(text: string): void;
  stop(): void;
}

/**
 * A spinner only where a person watches: standard error a terminal with a size, not CI,
 * not a dumb terminal (ora's own check passes a pty with no size). Undefined elsewhere, so
 * a pipe or a CI log gets no spinner bytes.
 */
export async function progress(text: string): Promise<Progress | undefined> {
  const tty =
    process.stderr.isTTY && (process.stderr.columns ?? 0) > 0 && !process.env.CI && process.env.TERM !== 'dumb';
  if (!tty) return undefined;
  const { default: ora } = await import('ora');
  const spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
  return {
    update: (t: string) => (spinner.text = t),
    stop: () => spinner.stop(),
  };
}
