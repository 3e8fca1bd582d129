import type { SmtpEvent } from '../session/events.js';
import { decodeWords, header } from './mime-read.js';
import type { Sink, SinkMessage } from './server.js';

/** What the message list shows of one message: all of it is known when it is stored. */
export interface MessageSummary {
  id: string;
  receivedAt: string;
  /** The sink's number for the session that delivered it (its transcript: /session). */
  session: number;
  envelope: { mailFrom: string; rcptTo: string[] };
  /** Header fields, RFC 2047 words decoded; null when the message has none. */
  from: string | null;
  to: string | null;
  cc: string | null;
  subject: string | null;
  date: string | null;
  messageId: string | null;
  size: number;
  tls: boolean;
  auth: boolean;
  user: string | null;
  /** Line ends in the message that were not CRLF (see --bare-newline). */
  lineEndings: SinkMessage['lineEndings'];
}

export interface MessageFilter {
  /** Substrings, case-insensitive: `to` in a RCPT TO, To: or Cc:; `from` in MAIL FROM or From:. */
  to?: string;
  from?: string;
  subject?: string;
  /** Only messages received at or after this time (milliseconds since the epoch). */
  sinceMs?: number;
}

/** A session's conversation as the API shows it: its start, and its last events. */
export interface Transcript {
  session: number;
  ended: boolean;
  events: SmtpEvent[];
  /** Events left out between the head and the tail. */
  omitted: number;
}

export interface StoreOptions {
  /** Messages kept; the oldest goes when one more comes. */
  maxMessages: number;
  /** Bytes of messages kept, whatever their number (the oldest go first). */
  maxBytes: number;
}

export const STORE_DEFAULTS: StoreOptions = { maxMessages: 500, maxBytes: 512 * 1024 * 1024 };

/** A transcript keeps about this much of its start, then its last TAIL_EVENTS events. */
const HEAD_BYTES = 64 * 1024;
const TAIL_EVENTS = 100;

class SessionLog {
  readonly head: SmtpEvent[] = [];
  private headBytes = 0;
  private tail: SmtpEvent[] = [];
  omitted = 0;
  ended = false;

  constructor(readonly session: number) {}

  add(e: SmtpEvent) {
    if (this.headBytes < HEAD_BYTES) {
      this.head.push(e);
      this.headBytes += eventSize(e);
      return;
    }
    this.tail.push(e);
    if (this.tail.length > TAIL_EVENTS) {
      this.tail.shift();
      this.omitted++;
    }
  }

  view(): Transcript {
    return { session: this.session, ended: this.ended, events: [...this.head, ...this.tail], omitted: this.omitted };
  }
}

/** About what an event weighs: its text, plus a little for the rest. */
function eventSize(e: SmtpEvent): number {
  if (e.type === 'sent') return 64 + e.line.length;
  if (e.type === 'reply') return 64 + e.reply.lines.reduce((n, l) => n + l.length, 0);
  if (e.type === 'info' || e.type === 'warning' || e.type === 'error') return 64 + e.message.length;
  return 256;
}

interface Stored {
  summary: MessageSummary;
  raw: Buffer;
  receivedMs: number;
  /** Lower-cased text the filters look in. */
  haystack: { to: string[]; from: string[]; subject: string };
  log: SessionLog | undefined;
}

interface Waiter {
  filter: MessageFilter;
  done: (m: MessageSummary | undefined) => void;
}

/**
 * The messages a sink took, in memory, newest last, bounded by count and bytes (the oldest
 * are evicted and counted), each with the conversation of the session that delivered it.
 * It prints nothing and serves the HTTP API; `wait` is the long-poll behind /api/v1/wait.
 */
export class MessageStore {
  private readonly messages = new Map<string, Stored>();
  private bytes = 0;
  /** Conversations of sessions still open (a stored message keeps its own once it ends). */
  private readonly sessions = new Map<number, SessionLog>();
  private readonly waiters = new Set<Waiter>();
  readonly counts = { stored: 0, evicted: 0, deleted: 0 };
  private readonly options: StoreOptions;

  constructor(options: Partial<StoreOptions> = {}) {
    this.options = { ...STORE_DEFAULTS, ...options };
  }

  get size(): number {
    return this.messages.size;
  }

  get storedBytes(): number {
    return this.bytes;
  }

  /** Takes the sink's messages and conversations; it needs `keepMessages` and `transcript` set. */
  attach(sink: Sink): void {
    if (!sink.options.keepMessages || !sink.options.transcript) throw new Error('the sink needs keepMessages and transcript to feed a message store');
    sink.on('event', (id: number, e: SmtpEvent) => {
      let log = this.sessions.get(id);
      if (!log) this.sessions.set(id, (log = new SessionLog(id)));
      log.add(e);
    });
    sink.on('session-end', (id: number) => {
      const log = this.sessions.get(id);
      if (log) log.ended = true;
      this.sessions.delete(id);
    });
    sink.on('message', (m: SinkMessage) => this.add(m));
  }

  add(m: SinkMessage): MessageSummary | undefined {
    if (!m.raw) return undefined;
    const h = m.headers;
    const field = (name: string) => {
      const v = header(h, name);
      return v === undefined ? null : decodeWords(v);
    };
    const summary: MessageSummary = {
      id: m.id,
      receivedAt: m.receivedAt,
      session: m.session,
      envelope: { mailFrom: m.from, rcptTo: [...m.to] },
      from: field('from'),
      to: field('to'),
      cc: field('cc'),
      subject: field('subject'),
      date: field('date'),
      messageId: field('message-id'),
      size: m.size,
      tls: m.tls,
      auth: m.user !== undefined,
      user: m.user ?? null,
      lineEndings: m.lineEndings,
    };
    const lower = (v: string | null) => (v ?? '').toLowerCase();
    const stored: Stored = {
      summary,
      raw: m.raw,
      receivedMs: Date.parse(m.receivedAt),
      haystack: { to: [...m.to.map((t) => t.toLowerCase()), lower(summary.to), lower(summary.cc)], from: [m.from.toLowerCase(), lower(summary.from)], subject: lower(summary.subject) },
      log: this.sessions.get(m.session),
    };
    this.messages.set(m.id, stored);
    this.bytes += m.raw.length;
    this.counts.stored++;
    // Bounded by count and bytes, but the newest message always stays.
    while (this.messages.size > 1 && (this.messages.size > this.options.maxMessages || this.bytes > this.options.maxBytes)) {
      const oldest = this.messages.keys().next().value as string;
      this.remove(oldest);
      this.counts.evicted++;
    }
    for (const w of this.waiters) if (matches(stored, w.filter)) w.done(summary);
    return summary;
  }

  /** Newest first. */
  list(filter: MessageFilter = {}, limit = Infinity): { total: number; messages: MessageSummary[] } {
    const all = [...this.messages.values()];
    const messages: MessageSummary[] = [];
    let total = 0;
    for (let i = all.length - 1; i >= 0; i--) {
      if (!matches(all[i]!, filter)) continue;
      total++;
      if (messages.length < limit) messages.push(all[i]!.summary);
    }
    return { total, messages };
  }

  get(id: string): { summary: MessageSummary; raw: Buffer } | undefined {
    const s = this.messages.get(id);
    return s && { summary: s.summary, raw: s.raw };
  }

  /** The conversation of the session that delivered this message, as far as it is kept. */
  transcript(id: string): Transcript | undefined {
    const s = this.messages.get(id);
    if (!s) return undefined;
    return s.log?.view() ?? { session: s.summary.session, ended: true, events: [], omitted: 0 };
  }

  /** Deletes the messages that match (all of them with no filter); returns how many. */
  delete(filter: MessageFilter = {}): number {
    let n = 0;
    for (const [id, s] of this.messages) {
      if (!matches(s, filter)) continue;
      this.remove(id);
      n++;
    }
    this.counts.deleted += n;
    return n;
  }

  deleteOne(id: string): boolean {
    if (!this.messages.has(id)) return false;
    this.remove(id);
    this.counts.deleted++;
    return true;
  }

  /**
   * The newest stored message that matches, or the first to come within `timeoutMs`;
   * undefined at the timeout, or when `signal` aborts (the client went away).
   */
  wait(filter: MessageFilter, timeoutMs: number, signal?: AbortSignal): Promise<MessageSummary | undefined> {
    const found = this.list(filter, 1).messages[0];
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        filter,
        done: (m) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', abort);
          this.waiters.delete(waiter);
          resolve(m);
        },
      };
      const abort = () => waiter.done(undefined);
      const timer = setTimeout(abort, timeoutMs);
      signal?.addEventListener('abort', abort, { once: true });
      this.waiters.add(waiter);
    });
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /** Ends every wait (with nothing found): the sink is stopping. */
  close(): void {
    for (const w of this.waiters) w.done(undefined);
  }

  private remove(id: string) {
    const s = this.messages.get(id);
    if (!s) return;
    this.messages.delete(id);
    this.bytes -= s.raw.length;
  }
}

function matches(s: Stored, f: MessageFilter): boolean {
  if (f.sinceMs !== undefined && !(s.receivedMs >= f.sinceMs)) return false;
  if (f.subject !== undefined && !s.haystack.subject.includes(f.subject.toLowerCase())) return false;
  if (f.to !== undefined && !s.haystack.to.some((t) => t.includes(f.to!.toLowerCase()))) return false;
  if (f.from !== undefined && !s.haystack.from.some((t) => t.includes(f.from!.toLowerCase()))) return false;
  return true;
}
