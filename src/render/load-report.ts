import { ExitCode, type ErrorClass, type Outcome } from '../errors.js';
import { explainCode } from '../explain/explain.js';
import { lineEndingsNote } from '../flows/transaction.js';
import type { LoadSettings, Stats } from '../load/shard.js';
import { formatTarget } from '../protocol/target.js';
import type { SessionOptions } from '../session/session.js';
import { jsonDocument } from './json.js';
import type { Output } from './output.js';
import { writeQuiet } from './print-outcome.js';
import { printable } from './printable.js';

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 10) / 10;
}

/**
 * Load mode's figures: messages per second, latency percentiles per phase, and errors grouped
 * by reply code with their explanation; one JSON document, -q's line, or the table.
 */
export function writeLoadReport(
  output: Output,
  opts: { json: boolean; quiet: boolean },
  stats: Stats,
  seconds: number,
  load: LoadSettings & { threads: number },
  base: SessionOptions,
): number {
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
