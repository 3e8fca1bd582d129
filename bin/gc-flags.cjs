'use strict';
// V8 collects garbage with helper threads by default. A one-shot command (a session, a
// lookup) allocates little and lives a fraction of a second, yet its two or three young-
// generation collections each waited for those helpers: on a busy machine that is up to
// 10-15 ms of wall time per run (measured: 9-12 ms per `send` under load, 1.7 ms with these
// flags). One-shot commands collect on the main thread alone; the long-running ones (sink,
// exporter, load mode, probe and audit of many targets, the REPL) keep parallel collection.
// Set before the bundle loads, when no collection is under way: V8 reads them per cycle.
const ONE_SHOT = new Set([
  'connect',
  'ehlo',
  'auth',
  'starttls',
  'send',
  'mx-lookup',
  'spf',
  'dkim-verify',
  'check-message',
  'explain',
  'completion',
]);

// --single-threaded-gc's effects; that flag itself acts only when given at start-up.
const FLAGS = [
  '--no-parallel-scavenge',
  '--no-parallel-pointer-update',
  '--no-parallel-marking',
  '--no-parallel-compaction',
  '--no-concurrent-marking',
  '--no-concurrent-sweeping',
  '--no-concurrent-array-buffer-sweeping',
].join(' ');

/** For the compile-cache slot a command line runs in (compile-cache.cjs slotFor). */
const oneShot = (slot) => ONE_SHOT.has(slot);

function useSingleThreadedGc(slot) {
  if (oneShot(slot)) require('node:v8').setFlagsFromString(FLAGS);
}

module.exports = { oneShot, useSingleThreadedGc, ONE_SHOT };
