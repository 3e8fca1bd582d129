/**
 * Milliseconds on a monotonic clock, as performance.now() but without loading perf_hooks
 * (about 1 ms, ten internal modules) on the start-up path of every session command.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
