import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** How much the heap may grow past what the last full collection kept before the next one. */
const STEP = 2 * 1024 * 1024;
/** How often the heap is looked at: at most 0.5 MiB past the step at the sink's top rate. */
const EVERY_MS = 250;

/**
 * Runs a long-running server with full collections paced by its heap's growth. Left to
 * itself, V8 promotes a busy server's short-lived objects out of the small young generation
 * (see young-generation.ts) and lets them pile up in the old space until its first limit, far
 * above what is live: the sink under `smtp-source -s 20 -m 5000` grew its heap from 9 to 20
 * MiB, of which 7 was live; collected every 2 MiB of growth, its peak RSS is 8 to 10 MiB
 * lower, for a few milliseconds of GC a second at its top rate. A look at the heap's size
 * every 250 ms costs nothing measurable, and an idle server's heap does not grow.
 * `gc` is V8's own (--expose-gc), set only while a context is made to take it from: the flag
 * is back at its default before any code is compiled or cached (see young-generation.ts on
 * the compile cache keyed by flags). The context costs about 1.5 MiB, once.
 */
export async function withPacedFullGc<T>(run: () => Promise<T>): Promise<T> {
  setFlagsFromString('--expose-gc');
  let gc: (() => void) | undefined;
  try {
    gc = runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  if (typeof gc !== 'function') return run();
  const collect = gc;
  let kept = getHeapStatistics().used_heap_size;
  const timer = setInterval(() => {
    if (getHeapStatistics().used_heap_size < kept + STEP) return;
    collect();
    kept = getHeapStatistics().used_heap_size;
  }, EVERY_MS).unref();
  try {
    return await run();
  } finally {
    clearInterval(timer);
  }
}
