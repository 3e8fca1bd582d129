/**
 * Loaded into a child with `node --expose-gc --import` (see measuredRun's `collectEvery`): a
 * full garbage collection every few milliseconds, so its peak RSS measures what it holds,
 * not how much garbage V8 chose to let pile up (a young generation and an old-space limit
 * that grow with the allocation rate add 20-40 MiB to any long, busy run).
 */
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('gc-often needs node --expose-gc');
setInterval(gc, Number(process.env.SMTPKIT_TEST_GC_MS ?? 50)).unref();
