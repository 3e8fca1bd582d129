/**
 * Runs an inquirer prompt so that it always ends. Ctrl-D on an empty answer (or a hung-up
 * terminal) closes inquirer's readline without settling its promise: the terminal is back
 * in cooked mode and the process waits for ever. That close pauses stdin, so a pause
 * cancels the prompt; so does `signal` (the REPL's connection closed meanwhile).
 */
export async function endingPrompt<T>(ask: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const controller = new AbortController();
  const cancel = () => controller.abort();
  if (signal?.aborted) cancel();
  signal?.addEventListener('abort', cancel);
  process.stdin.on('pause', cancel);
  try {
    return await ask(controller.signal);
  } finally {
    process.stdin.off('pause', cancel);
    signal?.removeEventListener('abort', cancel);
  }
}
