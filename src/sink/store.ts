import type { SmtpEvent } from '../session/events.js';
import type { KeyLookup } from '../dkim/key-lookup.js';
import { verifyMessage, type DkimReason, type SignatureResult } from '../dkim/verify.js';
import { readArchive, removeSaved, writeSidecar } from './archive.js';
import { decodeWords, header, splitPart, type HeaderList } from './mime-read.js';
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
  /** Line ends in the message that were not CRLF (see --bare-newline); null when not known. */
  lineEndings: SinkMessage['lineEndings'] | null;
  /** Read back from the save directory of an earlier run (its conversation was not kept). */
  restored?: true;
  /** Each DKIM-Signature checked, top to bottom; absent when unsigned or not yet checked (keys come from DNS). */
  dkim?: DkimEntry[];
}

/** One DKIM signature's verdict (RFC 6376 §6), as the API shows it. */
export interface DkimEntry {
  domain: string | null;
  selector: string | null;
  result: SignatureResult['result'];
  reason: DkimReason;
  explanation: string;
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
  /** Where DKIM keys are looked up; without it signatures are not checked. */
  keys?: KeyLookup;
}

export const STORE_DEFAULTS: StoreOptions = { maxMessages: 500, maxBytes: 512 * 1024 * 1024 };

/**
 * DKIM checks running at once; more wait their turn. Each holds a DNS query and a hash of its
 * message: a flood of signed mail must not become a flood of both (the 250s never wait for it).
 */
export const DKIM_CONCURRENCY = 4;

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
  /** Its .eml, with a save directory. */
  file: string | undefined;
  receivedMs: number;
  /** Lower-cased text the filters look in. */
  haystack: { to: string[]; from: string[]; subject: string };
  log: SessionLog | undefined;
}

/** What the store tells its watchers (the web page's live list): a message stored, or messages gone. */
export type StoreChange = { type: 'message'; message: MessageSummary } | { type: 'deleted'; ids: string[] };

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
  private readonly watchers = new Set<(change: StoreChange) => void>();
  readonly counts = { stored: 0, evicted: 0, deleted: 0 };
  private readonly options: StoreOptions;
  /** Messages whose signatures wait for a DKIM slot, oldest first (one that goes leaves it too). */
  private readonly dkimQueue = new Set<Stored>();
  private dkimRunning = 0;

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
    if (!sink.options.keepMessages || !sink.options.transcript)
      throw new Error('the sink needs keepMessages and transcript to feed a message store');
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
    const summary = summarize(m.id, m.receivedAt, m.headers, {
      session: m.session,
      envelope: { mailFrom: m.from, rcptTo: [...m.to] },
      size: m.size,
      tls: m.tls,
      user: m.user ?? null,
      lineEndings: m.lineEndings,
    });
    const stored = this.insert(summary, m.raw, this.sessions.get(m.session), m.file);
    // Queued, not awaited: the 250 goes out as soon as add returns, whatever DNS does meanwhile.
    if (this.options.keys) {
      this.dkimQueue.add(stored);
      this.nextDkim(this.options.keys);
    }
    // With a save directory the summary goes beside the .eml, for a restarted sink to read back.
    if (m.file) void writeSidecar(m.file, summary);
    for (const w of this.waiters) if (matches(stored, w.filter)) w.done(summary);
    this.tell({ type: 'message', message: summary });
    return summary;
  }

  /**
   * Reads back what an earlier run saved in `dir` (each .eml with its summary beside it, the
   * newest first, within this store's bounds); returns how many. Their conversations were not
   * kept: /session has no events for them.
   */
  async restore(dir: string): Promise<number> {
    const found = await readArchive(dir, this.options);
    for (const r of found) {
      const summary =
        checkedSummary(r.summary, r.id) ??
        summarize(r.id, r.receivedAt, splitPart(r.raw).headers, {
          session: 0,
          envelope: { mailFrom: '', rcptTo: [] },
          size: r.raw.length,
          tls: false,
          user: null,
          lineEndings: null,
        });
      this.insert({ ...summary, restored: true }, r.raw, undefined, r.file);
    }
    return found.length;
  }

  private insert(summary: MessageSummary, raw: Buffer, log: SessionLog | undefined, file: string | undefined): Stored {
    const lower = (v: string | null) => (v ?? '').toLowerCase();
    const e = summary.envelope;
    const stored: Stored = {
      summary,
      raw,
      file,
      receivedMs: Date.parse(summary.receivedAt),
      haystack: {
        to: [...e.rcptTo.map((t) => t.toLowerCase()), lower(summary.to), lower(summary.cc)],
        from: [e.mailFrom.toLowerCase(), lower(summary.from)],
        subject: lower(summary.subject),
      },
      log,
    };
    // An id seen again (a file read back twice) replaces the first, its bytes counted once.
    this.remove(summary.id, false);
    this.messages.set(summary.id, stored);
    this.bytes += raw.length;
    this.counts.stored++;
    // Bounded by count and bytes, but the newest message always stays.
    const evicted: string[] = [];
    while (
      this.messages.size > 1 &&
      (this.messages.size > this.options.maxMessages || this.bytes > this.options.maxBytes)
    ) {
      const oldest = this.messages.keys().next().value as string;
      this.remove(oldest, false);
      this.counts.evicted++;
      evicted.push(oldest);
    }
    if (evicted.length) this.tell({ type: 'deleted', ids: evicted });
    return stored;
  }

  /** Starts the queued DKIM checks there is room for (DKIM_CONCURRENCY at once). */
  private nextDkim(keys: KeyLookup) {
    for (const stored of this.dkimQueue) {
      if (this.dkimRunning >= DKIM_CONCURRENCY) return;
      this.dkimQueue.delete(stored);
      this.dkimRunning++;
      void this.checkDkim(stored, keys).finally(() => {
        this.dkimRunning--;
        this.nextDkim(keys);
      });
    }
  }

  /** DKIM checks running now, and waiting for their turn. */
  get dkimChecks(): { running: number; queued: number } {
    return { running: this.dkimRunning, queued: this.dkimQueue.size };
  }

  /** Verifies the message's DKIM signatures; the verdicts join its summary (a new object: the API caches by summary). */
  private async checkDkim(stored: Stored, keys: KeyLookup): Promise<void> {
    let signatures: SignatureResult[];
    try {
      signatures = (await verifyMessage(slices(stored.raw), keys)).signatures;
    } catch {
      return; // a header over 1 MiB: nothing a signature could be checked in
    }
    if (!signatures.length || this.messages.get(stored.summary.id) !== stored) return;
    stored.summary = {
      ...stored.summary,
      dkim: signatures.map((r) => ({
        domain: r.domain ?? null,
        selector: r.selector ?? null,
        result: r.result,
        reason: r.reason,
        explanation: r.explanation,
      })),
    };
    // The live list (and any reader of the event stream) gets the summary again, now with its verdicts.
    this.tell({ type: 'message', message: stored.summary });
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
    const ids: string[] = [];
    for (const [id, s] of this.messages) {
      if (!matches(s, filter)) continue;
      this.remove(id, true);
      ids.push(id);
    }
    this.counts.deleted += ids.length;
    if (ids.length) this.tell({ type: 'deleted', ids });
    return ids.length;
  }

  deleteOne(id: string): boolean {
    if (!this.messages.has(id)) return false;
    this.remove(id, true);
    this.counts.deleted++;
    this.tell({ type: 'deleted', ids: [id] });
    return true;
  }

  /** Calls `fn` on every change from now on; the function it returns stops that. */
  watch(fn: (change: StoreChange) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  get watching(): number {
    return this.watchers.size;
  }

  private tell(change: StoreChange) {
    for (const w of this.watchers) w(change);
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

  /** Forgets a message; a deleted one (not an evicted one) leaves its save directory too. */
  private remove(id: string, deleteFile: boolean) {
    const s = this.messages.get(id);
    if (!s) return;
    this.messages.delete(id);
    this.dkimQueue.delete(s);
    this.bytes -= s.raw.length;
    if (deleteFile && s.file) removeSaved(s.file);
  }
}

/** A summary read back from disk, if it is one (for this message). */
function checkedSummary(v: unknown, id: string): MessageSummary | undefined {
  const s = v as MessageSummary | undefined;
  const ok =
    typeof s === 'object' &&
    s !== null &&
    s.id === id &&
    typeof s.receivedAt === 'string' &&
    typeof s.envelope?.mailFrom === 'string' &&
    Array.isArray(s.envelope.rcptTo) &&
    s.envelope.rcptTo.every((t) => typeof t === 'string');
  return ok ? s : undefined;
}

/**
 * The stored bytes as views of 64 KiB: the verifier copies what it reads until the header's
 * end, so handed the whole message at once it would copy all of it (and make it a string).
 */
async function* slices(raw: Buffer): AsyncIterable<Buffer> {
  for (let at = 0; at < raw.length; at += SLICE) yield raw.subarray(at, at + SLICE);
}
const SLICE = 64 * 1024;

/** The header fields a summary shows, decoded, beside what the sink knew of the session. */
function summarize(
  id: string,
  receivedAt: string,
  headers: HeaderList,
  known: Pick<MessageSummary, 'session' | 'envelope' | 'size' | 'tls' | 'user' | 'lineEndings'>,
): MessageSummary {
  const field = (name: string) => {
    const v = header(headers, name);
    return v === undefined ? null : decodeWords(v);
  };
  return {
    id,
    receivedAt,
    session: known.session,
    envelope: known.envelope,
    from: field('from'),
    to: field('to'),
    cc: field('cc'),
    subject: field('subject'),
    date: field('date'),
    messageId: field('message-id'),
    size: known.size,
    tls: known.tls,
    auth: known.user !== null,
    user: known.user,
    lineEndings: known.lineEndings,
  };
}

function matches(s: Stored, f: MessageFilter): boolean {
  if (f.sinceMs !== undefined && !(s.receivedMs >= f.sinceMs)) return false;
  if (f.subject !== undefined && !s.haystack.subject.includes(f.subject.toLowerCase())) return false;
  if (f.to !== undefined && !s.haystack.to.some((t) => t.includes(f.to!.toLowerCase()))) return false;
  if (f.from !== undefined && !s.haystack.from.some((t) => t.includes(f.from!.toLowerCase()))) return false;
  return true;
}
