import { performance } from 'node:perf_hooks';
import { ExitCode, usageError, type ErrorClass } from '../errors.js';
import { explainCode } from '../explain/explain.js';
import { formatTarget } from '../protocol/target.js';
import type { MessageSpec } from '../message/build.js';
import type { SessionOptions } from '../session/session.js';
import { lineEndingsNote, type Envelope } from '../flows/transaction.js';
import {
  madeOnce,
  mergeStats,
  runShard,
  SENT,
  type LoadSettings,
  type ShardOptions,
  type Stats,
} from '../load/shard.js';
import { jsonDocument } from '../render/json.js';
import { processOutput } from '../render/output.js';
import { progress } from '../render/progress.js';
import { printable } from '../render/printable.js';
import type { Outcome } from '../render/outcome.js';
import { writeQuiet } from '../render/print-outcome.js';

export function loadSettings(flags: {
  count?: string;
  concurrency?: string;
  perConnection?: string;
  rate?: string;
}): LoadSettings {
  const int = (v: string | undefined, d: number, option: string, max: number) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) throw usageError(`${option} takes a whole number from 1 to ${max}`);
    return n;
  };
  const rate = flags.rate === undefined ? 0 : Number(String(flags.rate).replace(/\/s$/, ''));
  if (!(rate >= 0)) throw usageError('--rate takes messages per second, e.g. 50 or 50/s');
  return {
    count: int(flags.count, 1, '--count', 10_000_000),
    concurrency: int(flags.concurrency, 1, '--concurrency', 1000),
    perConnection: int(flags.perConnection, 1, '--per-connection', 1_000_000),
    rate,
  };
}

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
  return report(mergeStats(parts), seconds, { ...load, threads: n }, base, opts);
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 10) / 10;
}

async function report(
  stats: Stats,
  seconds: number,
  load: LoadSettings & { threads: number },
  base: SessionOptions,
  opts: { json: boolean; quiet: boolean; color: boolean | undefined },
): Promise<number> {
  const phases = Object.fromEntries(
    Object.entries(stats.latency).map(([phase, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return [
        phase,
        {
          count: sorted.length,
          p50: percentile(sorted, 50),
          p95: percentile(sorted, 95),
          p99: percentile(sorted, 99),
          max: percentile(sorted, 100),
        },
      ];
    }),
  );
  const errors = [...stats.errors.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .map(([key, e]) => ({
      key,
      count: e.count,
      code: e.code ?? null,
      command: e.command,
      example: e.example,
      explanation: e.code ? explainCode(e.code, e.command) : null,
    }));
  const rate = Math.round((stats.accepted / seconds) * 10) / 10;
  // The exit code says what went wrong, as a single send's would: the most frequent failure's
  // class (refused messages 8, a refused connection 4, TLS 6 ...).
  const errorClass = stats.failed ? ((errors[0]?.key.split(':')[0] ?? 'protocol') as ErrorClass) : undefined;
  const exitCode = errorClass ? ExitCode[errorClass] : ExitCode.ok;
  const target = formatTarget(base.host, base.port);
  const line = `${stats.accepted} of ${stats.sent} message(s) accepted in ${seconds.toFixed(2)} s: ${rate} messages/s${stats.failed ? `; ${stats.failed} failed` : ''}${errors[0] && stats.failed ? `, most often: ${errors[0].code ? `${errors[0].code} to ${errors[0].command}: ` : ''}${errors[0].example}` : ''}`;
  const outcome: Outcome = { ok: exitCode === 0, exitCode, message: line, ...(errorClass ? { errorClass } : {}) };
  const output = await processOutput({ color: opts.color });
  if (opts.json) {
    output.stdout.write(
      jsonDocument('send', { host: base.host, port: base.port }, outcome, {
        mode: 'load',
        settings: load,
        result: {
          sent: stats.sent,
          accepted: stats.accepted,
          failed: stats.failed,
          seconds: Math.round(seconds * 1000) / 1000,
          messagesPerSecond: rate,
          latencyMs: phases,
          errors,
          ...(stats.lineEndings ? { lineEndings: stats.lineEndings } : {}),
        },
      }),
    );
    return exitCode;
  }
  if (opts.quiet) {
    writeQuiet(output, outcome);
    return exitCode;
  }
  const c = output.paint;
  const out: string[] = [];
  out.push(
    c.blue(
      `=== load: ${load.count} message(s) to ${target} over ${load.concurrency} connection(s), ${load.perConnection} per connection${load.rate ? `, at most ${load.rate}/s` : ''}${load.threads > 1 ? `, ${load.threads} threads` : ''}`,
    ),
  );
  // Only the phases something was measured in: a row of zeros would read as instant.
  const measured = Object.entries(phases).filter(([, p]) => p.count > 0);
  if (measured.length) out.push(`    latency (ms)   count      p50      p95      p99      max`);
  for (const [phase, p] of measured)
    out.push(
      `    ${phase.padEnd(12)} ${String(p.count).padStart(7)} ${String(p.p50).padStart(8)} ${String(p.p95).padStart(8)} ${String(p.p99).padStart(8)} ${String(p.max).padStart(8)}`,
    );
  const note = stats.lineEndings && lineEndingsNote(stats.lineEndings);
  if (note) out.push(c.yellow(`!!! ${printable(note)}`));
  for (const e of errors)
    out.push(
      c.yellow(
        `!!! ${e.count} × ${printable(e.code ? `${e.code} to ${e.command}: ${e.example}` : e.example)}${e.explanation ? `\n    # ${e.explanation}` : ''}`,
      ),
    );
  out.push(
    (exitCode ? c.red.bold : c.green.bold)(
      `=== ${stats.accepted} of ${stats.sent} message(s) accepted in ${seconds.toFixed(2)} s: ${rate} messages/s${stats.failed ? `; ${stats.failed} failed (exit ${exitCode})` : ''}`,
    ),
  );
  output.stdout.write(`${out.join('\n')}\n`);
  return exitCode;
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
