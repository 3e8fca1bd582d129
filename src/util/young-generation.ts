import { setFlagsFromString } from 'node:v8';
import { v8FlagGiven } from './v8-flags-given.js';

/**
 * Runs a long-running server with V8's young generation kept at its starting size (1 MiB
 * semi-spaces): left to grow under load, V8 doubles it up to 2 x 16 MiB, resident for good
 * (the sink's flood: 92 MiB peak RSS, 72 without; the exporter: +10 MiB after 100 probes).
 * --max-semi-space-size is read only when the heap is made, before our code runs, but the
 * growth factor is read at each growth decision, so it holds when set now.
 * V8's default (2) is set back when the run ends: the compile cache (bin/compile-cache.cjs)
 * saves then, and V8 keys its entries by the flags, so an entry saved with the flag changed
 * was refused by every later start.
 */
export async function withSmallYoungGeneration<T>(run: () => Promise<T>): Promise<T> {
  if (v8FlagGiven(['semi-space-growth-factor'])) return run();
  setFlagsFromString('--semi-space-growth-factor=1');
  try {
    return await run();
  } finally {
    setFlagsFromString('--semi-space-growth-factor=2');
  }
}
