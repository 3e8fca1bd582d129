import { performance } from 'node:perf_hooks';
import { ExitCode, SmtpkitError, usageError, type ErrorClass } from '../errors.js';
import { explainCode } from '../explain/explain.js';
import { hasExtension } from '../protocol/capabilities.js';
import { replyText, type Reply } from '../protocol/reply.js';
import { formatTarget } from '../protocol/target.js';
import { buildMessage, type MessageSpec, type OutgoingMessage } from '../message/build.js';
import { SmtpSession, type SessionOptions } from '../session/session.js';
import type { DkimSignOptions } from '../dkim/sign.js';
import { greetAndSecure, login, type AuthPlan, type StartTlsMode } from '../flows/establish.js';
import { lineEndingsNote, mailTransaction, wireForm, type Envelope } from '../flows/transaction.js';
import type { LineEndings } from '../protocol/data-encoder.js';
import { jsonDocument } from '../render/json.js';
import { processOutput } from '../render/output.js';
import { printable } from '../render/printable.js';
import type { Outcome } from '../render/outcome.js';
import { writeQuiet } from '../render/print-outcome.js';

export interface LoadSettings {
  count: number;
  concurrency: number;
  perConnection: number;
  /** Messages per second over all connections; 0 = as fast as possible. */
  rate: number;
}

export function loadSettings(flags: { count?: string; concurrency?: string; perConnection?: string; rate?: string }): LoadSettings {
  const int = (v: string | undefined, d: number, option: string, max: number) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) throw usageError(`${option} takes a whole number from 1 to ${max}`);
    return n;
  };
  const rate = flags.rate === undefined ? 0 : Number(String(flags.rate).replace(/\/s$/, ''));
  if (!(rate >= 0)) throw usageError('--rate takes messages per second, e.g. 50 or 50/s');
  return { count: int(flags.count, 1, '--count', 10_000_000), concurrency: int(flags.concurrency, 1, '--concurrency', 1000), perConnection: int(flags.perConnection, 1, '--per-connection', 1_000_000), rate };
}

export interface Stats {
  sent: number;
  accepted: number;
  failed: number;
  latency: { connect: number[]; envelope: number[]; data: number[]; message: number[] };
  errors: Map<string, { count: number; example: string; code: number | undefined; command: string }>;
  /** The message's line ends that were not CRLF (sent as CRLF), once it was made. */
  lineEndings?: LineEndings;
}

export interface LoadOptions {
  starttls: StartTlsMode;
  auth: AuthPlan | undefined;
  /** Sign with DKIM: once per run (every message is the same one), before the first is sent. */
  dkim: DkimSignOptions | undefined;
  json: boolean;
  quiet: boolean;
  color: boolean | undefined;
}

/** What each connection needs besides the session options. */
export type ShardOptions = Pick<LoadOptions, 'starttls' | 'auth' | 'dkim'>;

/** Shared between threads: how many messages were taken (ISSUED) and sent (SENT) so far. */
export const ISSUED = 0;
export const SENT = 1;

/**
 * Load mode: `count` messages over `concurrency` connections, `perConnection` messages on
 * each (RSET between), MAIL, RCPT and DATA pipelined when offered. No transcript: only
 * figures, and errors grouped by reply code with their explanation. With more than two
 * CPUs the connections are spread over worker threads (load-threads.ts): one event loop
 * is the limit well before the network is.
 */
export async function runLoad(base: SessionOptions, spec: MessageSpec, envelope: Envelope, load: LoadSettings, opts: LoadOptions): Promise<number> {
  const threads = await import('./load-threads.js');
  const n = threads.threadCount(load);
  const counters = new Int32Array(n > 1 ? new SharedArrayBuffer(8) : new ArrayBuffer(8));
  // Signing can fail on the message itself (a From: with no domain): that is bad input, exit 2
  // before the first connection, not one failure per connection after each has opened. The
  // 7-bit form signed here is kept for a thread of our own; worker threads sign their own.
  const signed = opts.dkim ? await madeOnce(spec, false, opts.dkim) : undefined;
  const startedAt = performance.timeOrigin + performance.now();
  const spinner = await progress(load.count, () => Atomics.load(counters, SENT));
  const shard: ShardOptions = { starttls: opts.starttls, auth: opts.auth, dkim: opts.dkim };
  let parts: Stats[];
  try {
    parts = n > 1 ? await threads.runInThreads(n, base, spec, envelope, load, shard, counters, startedAt) : [await runShard(base, spec, envelope, load, load.concurrency, shard, counters, startedAt, signed)];
  } finally {
    // A thread that fails to start must not leave the spinner's timer holding the process open.
    spinner?.stop();
  }
  const seconds = (performance.timeOrigin + performance.now() - startedAt) / 1000;
  return report(mergeStats(parts), seconds, { ...load, threads: n }, base, opts);
}

/**
 * One thread's share: `connections` at once, taking messages from the shared count until
 * it is used up. `startedAt` (ms since the epoch) paces --rate across all threads.
 */
export async function runShard(base: SessionOptions, spec: MessageSpec, envelope: Envelope, load: LoadSettings, connections: number, opts: ShardOptions, counters: Int32Array, startedAt: number, made7bit?: Made): Promise<Stats> {
  // A silent port is not asked about implicit TLS on each of thousands of connections.
  base = { ...base, sniffImplicitTls: false };
  const stats: Stats = { sent: 0, accepted: 0, failed: 0, latency: { connect: [], envelope: [], data: [], message: [] }, errors: new Map() };
  const nextSlot = async () => {
    const i = Atomics.add(counters, ISSUED, 1);
    if (i >= load.count) return false;
    if (load.rate > 0) {
      const wait = startedAt + (i * 1000) / load.rate - (performance.timeOrigin + performance.now());
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    return true;
  };
  // The message, built and encoded once per run and 8BITMIME answer (servers may differ),
  // sent many times: with one message per connection, making it per connection cost more
  // than sending it.
  const made = new Map<boolean, Promise<Made>>(made7bit ? [[false, Promise.resolve(made7bit)]] : []);
  const make = (eightBit: boolean) => made.get(eightBit) ?? made.set(eightBit, madeOnce(spec, eightBit, opts.dkim)).get(eightBit)!;
  const sent = () => {
    stats.sent++;
    Atomics.add(counters, SENT, 1);
  };
  const worker = async () => {
    // A connection opens only with a message to send: its first slot is taken first.
    while (await nextSlot()) await connection(base, envelope, load, opts, stats, nextSlot, make, sent);
  };
  await Promise.all(Array.from({ length: Math.min(connections, load.count) }, worker));
  return stats;
}

interface Made {
  message: OutgoingMessage;
  wire: Buffer;
  lineEndings: LineEndings;
}

async function madeOnce(spec: MessageSpec, eightBit: boolean, dkim: DkimSignOptions | undefined): Promise<Made> {
  const built = buildMessage(spec, eightBit);
  const message = dkim ? await (await import('../dkim/sign.js')).dkimSign(built, dkim) : built;
  return { message, ...(await wireForm(message)) };
}

function mergeStats(parts: Stats[]): Stats {
  const all: Stats = { sent: 0, accepted: 0, failed: 0, latency: { connect: [], envelope: [], data: [], message: [] }, errors: new Map() };
  for (const p of parts) {
    all.sent += p.sent;
    all.accepted += p.accepted;
    all.failed += p.failed;
    all.lineEndings ??= p.lineEndings;
    for (const k of Object.keys(all.latency) as Array<keyof Stats['latency']>) for (const v of p.latency[k]) all.latency[k].push(v);
    for (const [key, e] of p.errors) {
      const had = all.errors.get(key);
      if (had) had.count += e.count;
      else all.errors.set(key, { ...e });
    }
  }
  return all;
}

async function connection(base: SessionOptions, envelope: Envelope, load: LoadSettings, opts: ShardOptions, stats: Stats, nextSlot: () => Promise<boolean>, make: (eightBit: boolean) => Promise<Made>, sent: () => void) {
  const session = new SmtpSession({ ...base }, undefined);
  let onThis = 0;
  let slotTaken = true;
  const take = async () => {
    if (slotTaken) {
      slotTaken = false;
      return true;
    }
    return nextSlot();
  };
  // Failures are grouped by what they are (class, step, reply code), never by their wording.
  const fail = (e: SmtpkitError) => {
    const key = `${e.errorClass}:${e.phase ?? 'connect'}:${e.reply?.code ?? e.kind}`;
    const entry = stats.errors.get(key) ?? { count: 0, example: e.reply ? withEnhanced(e.reply) : e.message, code: e.reply?.code, command: stepCommand(e.phase) };
    entry.count++;
    stats.errors.set(key, entry);
  };
  try {
    const t0 = performance.now();
    await greetAndSecure(session, opts.starttls);
    if (opts.auth) await login(session, opts.auth);
    stats.latency.connect.push(performance.now() - t0);
    const caps = session.capabilities!;
    const { message, wire, lineEndings } = await make(hasExtension(caps, '8BITMIME'));
    stats.lineEndings ??= lineEndings;
    while (onThis < load.perConnection && (await take())) {
      onThis++;
      sent();
      if (onThis > 1) await session.command('RSET');
      const m0 = performance.now();
      let sentAt = m0;
      try {
        // The connection's last message takes QUIT with its dot: one write and one wait less.
        const quitAfter = onThis === load.perConnection;
        const result = await mailTransaction(session, envelope, message, { pipelining: true, pipelineData: true, wire, quitAfter, onData: () => (sentAt = performance.now()) });
        stats.latency.envelope.push(sentAt - m0);
        stats.latency.data.push(performance.now() - sentAt);
        stats.latency.message.push(performance.now() - m0);
        if (result.final) stats.accepted++;
      } catch (err) {
        // A refusal fails this message; the connection goes on with the next one.
        if (!(err instanceof SmtpkitError) || err.errorClass !== 'rejected' || !session.isOpen) throw err;
        stats.failed++;
        fail(err);
      }
    }
  } catch (err) {
    // A broken connection fails the message in flight; one that never got going uses up a
    // message too, so a server that refuses everything cannot keep the run going forever.
    const e = err instanceof SmtpkitError ? err : new SmtpkitError('protocol', String(err));
    if (onThis === 0) sent();
    stats.failed++;
    fail(e);
  } finally {
    // Reset, not a FIN: thousands of closed connections must not pile up in TIME_WAIT.
    await session.quit({ reset: true });
  }
}

const withEnhanced = (r: Reply) => `${r.enhanced ? `${r.enhanced} ` : ''}${replyText(r)}`;

/** The command a failure's step answers, for the reply's explanation. */
const stepCommand = (phase: string | undefined) => ({ mail: 'MAIL', rcpt: 'RCPT', data: '.', envelope: 'MAIL' })[phase ?? ''] ?? phase ?? 'connect';

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 10) / 10;
}

async function report(stats: Stats, seconds: number, load: LoadSettings & { threads: number }, base: SessionOptions, opts: { json: boolean; quiet: boolean; color: boolean | undefined }): Promise<number> {
  const phases = Object.fromEntries(
    Object.entries(stats.latency).map(([phase, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return [phase, { count: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: percentile(sorted, 100) }];
    }),
  );
  const errors = [...stats.errors.entries()].sort((a, b) => b[1].count - a[1].count).map(([key, e]) => ({ key, count: e.count, code: e.code ?? null, command: e.command, example: e.example, explanation: e.code ? explainCode(e.code, e.command) : null }));
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
    output.stdout.write(jsonDocument('send', { host: base.host, port: base.port }, outcome, { mode: 'load', settings: load, result: { sent: stats.sent, accepted: stats.accepted, failed: stats.failed, seconds: Math.round(seconds * 1000) / 1000, messagesPerSecond: rate, latencyMs: phases, errors, ...(stats.lineEndings ? { lineEndings: stats.lineEndings } : {}) } }));
    return exitCode;
  }
  if (opts.quiet) {
    writeQuiet(output, outcome);
    return exitCode;
  }
  const c = output.paint;
  const out: string[] = [];
  out.push(c.blue(`=== load: ${load.count} message(s) to ${target} over ${load.concurrency} connection(s), ${load.perConnection} per connection${load.rate ? `, at most ${load.rate}/s` : ''}${load.threads > 1 ? `, ${load.threads} threads` : ''}`));
  // Only the phases something was measured in: a row of zeros would read as instant.
  const measured = Object.entries(phases).filter(([, p]) => p.count > 0);
  if (measured.length) out.push(`    latency (ms)   count      p50      p95      p99      max`);
  for (const [phase, p] of measured) out.push(`    ${phase.padEnd(12)} ${String(p.count).padStart(7)} ${String(p.p50).padStart(8)} ${String(p.p95).padStart(8)} ${String(p.p99).padStart(8)} ${String(p.max).padStart(8)}`);
  const note = stats.lineEndings && lineEndingsNote(stats.lineEndings);
  if (note) out.push(c.yellow(`!!! ${printable(note)}`));
  for (const e of errors) out.push(c.yellow(`!!! ${e.count} × ${printable(e.code ? `${e.code} to ${e.command}: ${e.example}` : e.example)}${e.explanation ? `\n    # ${e.explanation}` : ''}`));
  out.push((exitCode ? c.red.bold : c.green.bold)(`=== ${stats.accepted} of ${stats.sent} message(s) accepted in ${seconds.toFixed(2)} s: ${rate} messages/s${stats.failed ? `; ${stats.failed} failed (exit ${exitCode})` : ''}`));
  output.stdout.write(`${out.join('\n')}\n`);
  return exitCode;
}

async function progress(total: number, done: () => number) {
  const tty = process.stderr.isTTY && (process.stderr.columns ?? 0) > 0 && !process.env.CI && process.env.TERM !== 'dumb';
  if (!tty) return undefined;
  const { default: ora } = await import('ora');
  const spinner = ora({ text: `sending 0/${total}`, stream: process.stderr, discardStdin: false }).start();
  const timer = setInterval(() => (spinner.text = `sending ${done()}/${total}`), 200);
  return {
    stop: () => {
      clearInterval(timer);
      spinner.stop();
    },
  };
}
