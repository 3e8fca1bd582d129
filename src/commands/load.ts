import { performance } from 'node:perf_hooks';
import type { MessageSpec } from '../message/build.js';
import type { SessionOptions } from '../session/session.js';
import type { Envelope } from '../flows/transaction.js';
import {
  madeOnce,
  mergeStats,
  runShard,
  SENT,
  type LoadSettings,
  type ShardOptions,
  type Stats,
} from '../load/shard.js';
import { writeLoadReport } from '../render/load-report.js';
import { processOutput } from '../render/output.js';
import { progress } from '../render/progress.js';

/** The run's options: each connection's, and how the figures are shown. */
export interface LoadOptions extends ShardOptions {
  json: boolean;
  quiet: boolean;
  color: boolean | undefined;
}

/**
 * Load mode: `count` messages over `concurrency` connections, `perConnection` messages on
 * each (RSET between), MAIL, RCPT and DATA pipelined when offered. No transcript: only
 * figures, and errors grouped by reply code with their explanation. With more than two
 * CPUs the connections are spread over worker threads (load/threads.ts): one event loop
 * is the limit well before the network is.
 */
export async function runLoad(
  base: SessionOptions,
  spec: MessageSpec,
  envelope: Envelope,
  load: LoadSettings,
  opts: LoadOptions,
): Promise<number> {
  const threads = await import('../load/threads.js');
  const n = threads.threadCount(load);
  const counters = new Int32Array(n > 1 ? new SharedArrayBuffer(8) : new ArrayBuffer(8));
  // Signing can fail on the message itself (a From: with no domain): that is bad input, exit 2
  // before the first connection, not one failure per connection after each has opened. The
  // 7-bit form signed here is kept for a thread of our own; worker threads sign their own.
  const signed = opts.dkim ? await madeOnce(spec, false, opts.dkim) : undefined;
  const startedAt = performance.timeOrigin + performance.now();
  const spinner = await sending(load.count, () => Atomics.load(counters, SENT));
  const shard: ShardOptions = { starttls: opts.starttls, auth: opts.auth, dkim: opts.dkim, lean: opts.lean };
  let parts: Stats[];
  try {
    parts =
      n > 1
        ? await threads.runInThreads(n, base, spec, envelope, load, shard, counters, startedAt)
        : [await runShard(base, spec, envelope, load, load.concurrency, shard, counters, startedAt, signed)];
  } finally {
    // A thread that fails to start must not leave the spinner's timer holding the process open.
    spinner?.stop();
  }
  const seconds = (performance.timeOrigin + performance.now() - startedAt) / 1000;
  return writeLoadReport(
    await processOutput({ color: opts.color }),
    opts,
    mergeStats(parts),
    seconds,
    { ...load, threads: n },
    base,
  );
}

/** The spinner, brought up to date five times a second from the counter the connections share. */
async function sending(total: number, done: () => number) {
  const spinner = await progress(`sending 0/${total}`);
  if (!spinner) return undefined;
  const timer = setInterval(() => spinner.update(`sending ${done()}/${total}`), 200);
  return {
    stop: () => {
      clearInterval(timer);
      spinner.stop();
    },
  };
}
