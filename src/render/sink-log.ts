import { bareLineEndsText } from '../protocol/data-encoder.js';
import type { SmtpEvent } from '../session/events.js';
import type { SaveFailure, SinkMessage } from '../sink/server.js';
import type { SinkStats } from '../sink/types.js';
import { jsonText } from './json.js';
import type { Stream } from './output.js';
import type { Paint } from './paint.js';
import { printable, quoted } from './printable.js';
import { TextRenderer } from './text.js';
import { commandLineError } from './usage.js';

/** What a session's transcript keeps before it is shown: its start, and its last lines. */
export const TRANSCRIPT_HEAD_BYTES = 64 * 1024;
export const TRANSCRIPT_TAIL_EVENTS = 100;

/**
 * Everything `smtpkit sink` prints, in one place. Each session is shown whole when it ends,
 * so concurrent sessions do not interleave; what is kept of one meanwhile is bounded (its
 * first 64 KiB and last 100 entries, with a note of what was left out), so a client that
 * talks forever cannot fill memory. With JSON, stdout carries only message lines.
 */
export class SinkLog {
  private readonly sessions = new Map<number, SessionText>();
  private readonly failures = new Set<string>();
  private refusalShown = false;

  constructor(
    private readonly out: Stream,
    private readonly err: Stream,
    private readonly c: Paint,
    private readonly mode: { json: boolean; transcript: boolean; bareNewline?: string },
  ) {}

  private get info(): Stream {
    return this.mode.json ? this.err : this.out;
  }

  /** The SMTP listening line: the address (an IPv6 host bracketed) and what the sink offers. */
  listening(
    host: string,
    port: number,
    o: { tls: boolean; certFile: string | undefined; authUser: string | undefined },
  ) {
    const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const features = [
      o.tls
        ? `STARTTLS (${o.certFile ? o.certFile : 'built-in localhost certificate, for local testing only'})`
        : 'no TLS',
      o.authUser !== undefined ? `AUTH for ${o.authUser}` : 'no AUTH',
    ];
    this.info.write(
      `${this.c.blue(`=== smtpkit sink listening on ${address}; ${features.join(', ')}; Ctrl-C stops it`)}\n`,
    );
  }

  httpListening(url: string, token: boolean, restored: number) {
    const extra = [
      token ? 'Bearer token required' : '',
      restored ? `${restored} saved message(s) read back` : '',
    ].filter(Boolean);
    this.info.write(
      `${this.c.blue(`=== HTTP API on ${url}/api/v1/messages (also /api/v1/wait, /healthz, /metrics)${extra.map((e) => `; ${e}`).join('')}`)}\n`,
    );
  }

  event(session: number, e: SmtpEvent) {
    if (!this.mode.transcript) return;
    let s = this.sessions.get(session);
    if (!s) this.sessions.set(session, (s = new SessionText(this.c)));
    s.add(e);
  }

  sessionEnd(session: number) {
    const s = this.sessions.get(session);
    this.sessions.delete(session);
    if (!this.mode.transcript) return;
    this.out.write(this.c.bold(`--- session #${session}\n`) + (s ? s.text() : ''));
  }

  /**
   * Written at once, before the sink answers 250 (stdout to a pipe or a file is synchronous):
   * a script that has seen the 250 finds the line. Lines gathered to write fewer (faster
   * under load) came out after the 250 and broke that.
   */
  message(m: SinkMessage) {
    // The bytes kept for the HTTP API are no part of the line.
    if (this.mode.json) return this.out.write(`${jsonText({ ...m, raw: undefined })}\n`);
    const subject = m.headers.find(([k]) => k.toLowerCase() === 'subject')?.[1];
    const parts = [
      `=== #${m.session} message ${m.id}: from <${printable(m.from)}> to ${m.to.map((t) => `<${printable(t)}>`).join(', ')}, ${m.size} bytes`,
      subject === undefined ? '' : `, subject ${quoted(subject.slice(0, 80))}`,
      m.tls ? ', over TLS' : '',
      m.user ? `, as ${printable(m.user)}` : '',
      bareLineEnds(m.lineEndings),
    ];
    this.out.write(`${this.c.green(parts.join(''))}\n`);
  }

  /** A save that failed: each distinct reason once (a full disk would otherwise flood the log). */
  saveFailed(f: SaveFailure) {
    const key = `${f.code}:${f.message}`;
    if (this.failures.has(key)) return;
    this.failures.add(key);
    this.err.write(
      `${this.c.yellow(`!!! could not save a message, answered 451 4.3.0 (shown once per reason): ${printable(f.message)}`)}\n`,
    );
  }

  sessionRefused(max: number) {
    if (this.refusalShown) return;
    this.refusalShown = true;
    this.err.write(
      `${this.c.yellow(`!!! ${max} sessions open: refusing more with 421 4.7.0 (--max-sessions; shown once, counted in the summary)`)}\n`,
    );
  }

  stopped(s: SinkStats) {
    const extra = [
      s.oversized ? `${s.oversized} over --max-size` : '',
      s.saveFailed ? `${s.saveFailed} not saved (451)` : '',
      s.refusedSessions ? `${s.refusedSessions} session(s) refused (--max-sessions)` : '',
      s.slowSessions ? `${s.slowSessions} session(s) cut off under --min-rate` : '',
      s.bareLineEnds
        ? `${s.bareLineEnds} message(s) with bare LF or CR line ends (--bare-newline ${this.mode.bareNewline ?? 'note'}${this.mode.bareNewline === 'reject' ? ': refused' : ''})`
        : '',
    ].filter(Boolean);
    this.info.write(
      `${this.c.bold(`=== sink stopped: ${s.messages} message(s), ${s.bytes} bytes, in ${s.sessions} session(s); ${s.rejected} recipient(s) rejected, ${s.tempfailed} temporary failure(s) injected${extra.length ? `; ${extra.join(', ')}` : ''}`)}\n`,
    );
  }

  /** Always on stderr, whatever the mode: stdout may be a pipe of JSON lines. */
  warning(message: string) {
    this.err.write(`${this.c.yellow(`!!! ${printable(message)}`)}\n`);
  }

  error(message: string) {
    this.err.write(commandLineError(message));
  }
}

/** ", with 2 bare LF line ends" on a message line (a hardened MTA would refuse it), or nothing. */
function bareLineEnds(e: SinkMessage['lineEndings'] | undefined): string {
  if (!e || (!e.bareLf && !e.bareCr)) return '';
  return `, with ${bareLineEndsText(e)} line end(s)${e.normalized ? ' (saved as CRLF)' : ''}`;
}

/**
 * One session's transcript while it runs: the head rendered as it comes, then a window of the
 * last events, rendered only when shown (a flood of commands costs no rendering).
 */
class SessionText {
  private readonly renderer: TextRenderer;
  private head = '';
  private full = false;
  private tail: SmtpEvent[] = [];
  private dropped = 0;
  private target: (t: string) => void = (t) => (this.head += t);

  constructor(private readonly c: Paint) {
    const out = { write: (t: string) => this.target(t) };
    this.renderer = new TextRenderer(out, out, { paint: c });
  }

  add(e: SmtpEvent) {
    if (!this.full) {
      this.renderer.event(e);
      this.full = this.head.length >= TRANSCRIPT_HEAD_BYTES;
      return;
    }
    this.tail.push(e);
    if (this.tail.length > TRANSCRIPT_TAIL_EVENTS) {
      this.tail.shift();
      this.dropped++;
    }
  }

  text(): string {
    let text = this.head;
    if (this.dropped)
      text += `${this.c.yellow(`!!! ${this.dropped} transcript entries not shown: a session keeps its first ${TRANSCRIPT_HEAD_BYTES / 1024} KiB and its last ${TRANSCRIPT_TAIL_EVENTS} entries`)}\n`;
    this.target = (t) => (text += t);
    for (const e of this.tail) this.renderer.event(e);
    return text;
  }
}
