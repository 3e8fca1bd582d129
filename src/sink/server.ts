import { EventEmitter } from 'node:events';
import net from 'node:net';
import { RateLimiter } from './rate-limit.js';
import type { FaultRule } from './rules.js';
import { SinkSession } from './session.js';
import type { SinkOptions } from './types.js';

// Declared in types.ts, which session.ts reads instead of this file (this file imports it).
export type { DropPoint, SinkMessage, SinkOptions } from './types.js';

export const SINK_DEFAULTS = {
  maxSize: 25 * 1024 * 1024,
  idleTimeoutMs: 5 * 60_000,
  handshakeTimeoutMs: 30_000,
  maxSessions: 100,
  minRate: 100,
  minRateWindowMs: 30_000,
  bareNewline: 'note',
} as const;

/** Why a message could not be saved (it was answered 451). */
export interface SaveFailure {
  code: string | undefined;
  message: string;
}

/**
 * A small SMTP server for testing senders: it takes mail and keeps nothing unless asked,
 * and it can misbehave on purpose (refuse recipients, fail at random, stall, hang up).
 * It never prints; it emits 'event' (session number, transcript event), 'message',
 * 'save-failed', 'session-refused' and 'session-end'.
 * No `implements SinkHost`: its session hooks are marked internal and stripped from the library's .d.ts,
 * where the clause would then fail a user's type check; handing `this` to a session checks it.
 */
export class Sink extends EventEmitter {
  private readonly server: net.Server;
  private sessions = 0;
  private readonly open = new Set<SinkSession>();
  private readonly sockets = new Set<net.Socket>();
  /**
   * One clock counts every session's silence: a timer per socket, refreshed on each read and
   * write, cost a measurable share of the sink's time under load.
   */
  private sweeper: NodeJS.Timeout | undefined;
  /** Set while close() waits for the last session to end. */
  private allEnded: (() => void) | undefined;
  readonly stats = {
    sessions: 0,
    messages: 0,
    bytes: 0,
    rejected: 0,
    tempfailed: 0,
    oversized: 0,
    saveFailed: 0,
    refusedSessions: 0,
    bareLineEnds: 0,
    slowSessions: 0,
    rateLimited: 0,
  };
  private currentRules: readonly FaultRule[];
  /** Refusals per rule, by its text: a counter outlives its rule being replaced (Prometheus counters never go down). */
  readonly ruleRefusals = new Map<string, number>();
  private readonly limiter: RateLimiter | undefined;

  constructor(readonly options: SinkOptions) {
    super();
    this.currentRules = options.rules ?? [];
    this.limiter = options.rateLimit && new RateLimiter(options.rateLimit);
    // No Nagle: a reply must not wait for the client's delayed ACK of the one before.
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  /**
   * Stops listening and hangs up on everyone; resolves once every session has ended (a
   * socket's 'close' comes after the server's), so what is shown of them precedes a summary.
   */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    const ended = new Promise<void>((resolve) => {
      if (!this.open.size) return resolve();
      this.allEnded = resolve;
      // A close that never comes must not hold up stopping.
      setTimeout(resolve, 2000).unref();
    });
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await ended;
  }

  private accept(socket: net.Socket) {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    if (this.open.size >= this.options.maxSessions) {
      this.stats.refusedSessions++;
      this.emit('session-refused', this.options.maxSessions);
      socket.end(
        `421 4.7.0 ${this.options.name} Error: too many sessions (--max-sessions ${this.options.maxSessions}); try again later\r\n`,
      );
      socket.resume();
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    const session = new SinkSession(this, socket, ++this.sessions);
    this.open.add(session);
    this.stats.sessions++;
    session.start();
    this.watchIdle();
  }

  /**
   * Sweeps eight times per --idle-timeout or --min-rate window (at most once a second) while
   * sessions are open. Each sweep counts the time since the last by the clock: a sweep comes late when the event loop
   * is busy (a flood, a --reject-rcpt pattern at its limit), and counting it as one step would
   * let a silent client stay as many times longer.
   */
  private watchIdle() {
    if (this.sweeper) return;
    const { idleTimeoutMs, minRate, minRateWindowMs } = this.options;
    const step = Math.min(1000, Math.max(10, Math.min(idleTimeoutMs, minRate ? minRateWindowMs : Infinity) / 8));
    let last = performance.now();
    this.sweeper = setInterval(() => {
      if (!this.open.size) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
      const now = performance.now();
      const ms = now - last;
      last = now;
      for (const s of this.open) s.tick(ms);
    }, step).unref();
  }

  get rules(): readonly FaultRule[] {
    return this.currentRules;
  }

  /** Replaces the rules (already checked: parseRules); the next command of every session sees them. */
  setRules(rules: readonly FaultRule[]): void {
    this.currentRules = [...rules];
  }

  /** @internal */
  ruleRefused(rule: FaultRule) {
    // Bounded: a run that posts new rule texts without end keeps counting only the first 10,000.
    if (this.ruleRefusals.has(rule.rule) || this.ruleRefusals.size < 10_000)
      this.ruleRefusals.set(rule.rule, (this.ruleRefusals.get(rule.rule) ?? 0) + 1);
  }

  /** @internal */
  withinRate(client: string): boolean {
    if (!this.limiter || this.limiter.take(client, performance.now())) return true;
    this.stats.rateLimited++;
    return false;
  }

  /** @internal */
  sessionClosed(session: SinkSession) {
    if (!this.open.delete(session)) return;
    this.emit('session-end', session.id);
    if (!this.open.size) this.allEnded?.();
  }

  /** @internal */
  saveFailed(err: NodeJS.ErrnoException) {
    this.stats.saveFailed++;
    this.emit('save-failed', { code: err.code, message: err.message } satisfies SaveFailure);
  }
}
