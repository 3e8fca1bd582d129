import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SmtpkitError } from '../errors.js';
import { ReplyParser, replyText, type Reply } from '../protocol/reply.js';
import { buildMessage, type MessageSpec, type OutgoingMessage } from '../message/build.js';
import { SmtpSession, type SessionOptions } from '../session/session.js';
import type { DkimSignOptions } from '../dkim/sign.js';
import { greetAndSecure, login, type AuthPlan, type StartTlsMode } from '../flows/establish.js';
import {
  mailTransaction,
  planTransaction,
  wireForm,
  type Envelope,
  type TransactionPlan,
} from '../flows/transaction.js';
import { hasExtension, parseEhlo } from '../protocol/capabilities.js';
import { leanConnection, type HandOver, type LeanHost } from './lean.js';
import type { LineEndings } from '../protocol/data-encoder.js';

// The load engine's core: one thread's connections and their figures. commands/load.ts
// runs it (here or in worker threads, threads.ts) and shows the result.

export interface LoadSettings {
  count: number;
  concurrency: number;
  perConnection: number;
  /** Messages per second over all connections; 0 = as fast as possible. */
  rate: number;
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

/** What each connection needs besides the session options. */
export interface ShardOptions {
  starttls: StartTlsMode;
  auth: AuthPlan | undefined;
  /** Sign with DKIM: once per run (every message is the same one), before the first is sent. */
  dkim: DkimSignOptions | undefined;
  /** false: every connection on the session's road, none on the lean executor's (for comparison). */
  lean?: boolean;
}

/** EHLO answers planned for at most: a server that varies its reply gets plans made, not kept. */
const MAX_PLANS = 16;

/** Shared between threads: how many messages were taken (ISSUED) and sent (SENT) so far. */
export const ISSUED = 0;
export const SENT = 1;

/**
 * One thread's share: `connections` at once, taking messages from the shared count until
 * it is used up. `startedAt` (ms since the epoch) paces --rate across all threads.
 */
export async function runShard(
  base: SessionOptions,
  spec: MessageSpec,
  envelope: Envelope,
  load: LoadSettings,
  connections: number,
  opts: ShardOptions,
  counters: Int32Array,
  startedAt: number,
  made7bit?: Made,
): Promise<Stats> {
  // A silent port is not asked about implicit TLS on each of thousands of connections.
  base = { ...base, sniffImplicitTls: false };
  const stats: Stats = {
    sent: 0,
    accepted: 0,
    failed: 0,
    latency: { connect: [], envelope: [], data: [], message: [] },
    errors: new Map(),
  };
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
  const make = (eightBit: boolean) =>
    made.get(eightBit) ?? made.set(eightBit, madeOnce(spec, eightBit, opts.dkim)).get(eightBit)!;
  const sent = () => {
    stats.sent++;
    Atomics.add(counters, SENT, 1);
  };
  const lean =
    opts.lean !== false && leanFits(base, opts)
      ? leanHost(base, envelope, load, opts, stats, nextSlot, make, sent)
      : undefined;
  const worker = async () => {
    // A connection opens only with a message to send: its first slot is taken first.
    while (await nextSlot()) {
      const handed = lean && (await leanConnection(lean));
      if (lean && !handed) continue;
      const session = handed
        ? SmtpSession.adopt(base, undefined, handed.socket, handed.received, handed.written, handed.ended)
        : undefined;
      await connection(base, envelope, load, opts, stats, nextSlot, make, sent, session && { session, ...handed! });
    }
  };
  await Promise.all(Array.from({ length: Math.min(connections, load.count) }, worker));
  return stats;
}

export interface Made {
  message: OutgoingMessage;
  wire: Buffer;
  lineEndings: LineEndings;
}

export async function madeOnce(spec: MessageSpec, eightBit: boolean, dkim: DkimSignOptions | undefined): Promise<Made> {
  const built = buildMessage(spec, eightBit);
  const message = dkim ? await (await import('../dkim/sign.js')).dkimSign(built, dkim) : built;
  return { message, ...(await wireForm(message)) };
}

export function mergeStats(parts: Stats[]): Stats {
  const all: Stats = {
    sent: 0,
    accepted: 0,
    failed: 0,
    latency: { connect: [], envelope: [], data: [], message: [] },
    errors: new Map(),
  };
  for (const p of parts) {
    all.sent += p.sent;
    all.accepted += p.accepted;
    all.failed += p.failed;
    all.lineEndings ??= p.lineEndings;
    for (const k of Object.keys(all.latency) as Array<keyof Stats['latency']>)
      for (const v of p.latency[k]) all.latency[k].push(v);
    for (const [key, e] of p.errors) {
      const had = all.errors.get(key);
      if (had) had.count += e.count;
      else all.errors.set(key, { ...e });
    }
  }
  return all;
}

/**
 * Whether the lean executor can run this shard's connections: plain SMTP to an address,
 * no login, no TLS asked for (a server offering STARTTLS is handed to the session after EHLO).
 */
function leanFits(base: SessionOptions, opts: ShardOptions): boolean {
  const literal = isIP(base.host);
  return (
    !!literal &&
    (!base.family || base.family === literal) &&
    !base.candidates &&
    !base.tlsOnConnect &&
    !base.requireStartTls &&
    !base.raw &&
    !opts.auth &&
    opts.starttls !== 'always' &&
    // The session refuses a line with CR or LF; the lean road leaves that to it.
    !/[\r\n]/.test(base.ehloName)
  );
}

/** The shard as the lean executor sees it: plans per EHLO answer, and where its figures go. */
function leanHost(
  base: SessionOptions,
  envelope: Envelope,
  load: LoadSettings,
  opts: ShardOptions,
  stats: Stats,
  nextSlot: () => Promise<boolean>,
  make: (eightBit: boolean) => Promise<Made>,
  sent: () => void,
): LeanHost {
  const plans = new Map<string, Promise<TransactionPlan | undefined>>();
  let last: { ehlo: Buffer; plan: Promise<TransactionPlan | undefined> } | undefined;
  const plan = async (ehlo: Buffer) => {
    const reply = new ReplyParser().push(ehlo)[0];
    if (!reply) return undefined;
    const caps = parseEhlo(reply);
    // STARTTLS, when offered and not refused, is the session's to do.
    if (opts.starttls !== 'never' && hasExtension(caps, 'STARTTLS')) return undefined;
    const { message, wire, lineEndings } = await make(hasExtension(caps, '8BITMIME'));
    stats.lineEndings ??= lineEndings;
    return planTransaction(caps, false, envelope, message, wire);
  };
  return {
    base,
    perConnection: load.perConnection,
    planFor: (ehlo) => {
      // Most runs meet one server with one EHLO answer: compared before any string is made.
      if (last && last.ehlo.equals(ehlo)) return last.plan;
      const key = ehlo.toString('latin1');
      const known = plans.get(key);
      if (known) {
        last = { ehlo, plan: known };
        return known;
      }
      const made = plan(ehlo);
      if (plans.size < MAX_PLANS) plans.set(key, made);
      last = { ehlo, plan: made };
      return made;
    },
    nextSlot,
    sent,
    connected: (ms) => stats.latency.connect.push(ms),
    accepted: (l) => {
      stats.latency.envelope.push(l.envelope);
      stats.latency.data.push(l.data);
      stats.latency.message.push(l.message);
      stats.accepted++;
    },
    failed: (e) => {
      stats.failed++;
      recordFailure(stats, e);
    },
  };
}

/** Failures are grouped by what they are (class, step, reply code), never by their wording. */
function recordFailure(stats: Stats, e: SmtpkitError) {
  const key = `${e.errorClass}:${e.phase ?? 'connect'}:${e.reply?.code ?? e.kind}`;
  const entry = stats.errors.get(key) ?? {
    count: 0,
    example: e.reply ? withEnhanced(e.reply) : e.message,
    code: e.reply?.code,
    command: stepCommand(e.phase),
  };
  entry.count++;
  stats.errors.set(key, entry);
}

/** A connection the lean executor handed over: its session, and how far it had got. */
type Resumed = Pick<HandOver, 'onThis' | 'inMessage' | 't0'> & { session: SmtpSession };

async function connection(
  base: SessionOptions,
  envelope: Envelope,
  load: LoadSettings,
  opts: ShardOptions,
  stats: Stats,
  nextSlot: () => Promise<boolean>,
  make: (eightBit: boolean) => Promise<Made>,
  sent: () => void,
  resumed?: Resumed,
) {
  const session = resumed?.session ?? new SmtpSession({ ...base }, undefined);
  // Handed over: the message in hand is done again from its replies, without counting it twice.
  let onThis = resumed ? resumed.onThis - (resumed.inMessage ? 1 : 0) : 0;
  let counted = !!resumed?.inMessage;
  let slotTaken = true;
  const take = async () => {
    if (slotTaken) {
      slotTaken = false;
      return true;
    }
    return nextSlot();
  };
  const fail = (e: SmtpkitError) => recordFailure(stats, e);
  try {
    const t0 = resumed ? resumed.t0 : performance.now();
    await greetAndSecure(session, opts.starttls);
    if (opts.auth) await login(session, opts.auth);
    if (t0 !== undefined) stats.latency.connect.push(performance.now() - t0);
    const caps = session.capabilities!;
    const { message, wire, lineEndings } = await make(hasExtension(caps, '8BITMIME'));
    stats.lineEndings ??= lineEndings;
    while (onThis < load.perConnection && (await take())) {
      onThis++;
      if (counted) counted = false;
      else sent();
      if (onThis > 1) await session.command('RSET');
      const m0 = performance.now();
      let sentAt = m0;
      try {
        // The connection's last message takes QUIT with its dot: one write and one wait less.
        const quitAfter = onThis === load.perConnection;
        const result = await mailTransaction(session, envelope, message, {
          pipelining: true,
          pipelineData: true,
          wire,
          quitAfter,
          onData: () => (sentAt = performance.now()),
        });
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
    if (onThis === 0 && !counted) sent();
    stats.failed++;
    fail(e);
  } finally {
    // Reset, not a FIN: thousands of closed connections must not pile up in TIME_WAIT.
    await session.quit({ reset: true });
  }
}

const withEnhanced = (r: Reply) => `${r.enhanced ? `${r.enhanced} ` : ''}${replyText(r)}`;

/** The command a failure's step answers, for the reply's explanation. */
const stepCommand = (phase: string | undefined) =>
  ({ mail: 'MAIL', rcpt: 'RCPT', data: '.', envelope: 'MAIL' })[phase ?? ''] ?? phase ?? 'connect';
