/**
 * Node holds a timer's delay in 32 bits: anything over 2^31-1 ms (about 24.8 days), and
 * NaN, fires after 1 ms with a TimeoutOverflowWarning. A delay from outside (a header, a
 * config) goes through here, so "wait very long" never becomes "give up at once".
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function clampDelay(ms: number): number {
  if (Number.isNaN(ms)) return 0;
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}

/** setTimeout with the delay clamped to what a Node timer can hold. */
export function clampedTimeout(fn: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(fn, clampDelay(ms));
}
