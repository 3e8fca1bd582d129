import { SmtpkitError, type Reply } from '../errors.js';

/** The reply's shape lives in errors.ts (an error carries one); this is where readers look for it. */
export type { Reply };

export type ReplyClass = 'positive' | 'intermediate' | 'transient' | 'permanent';

export function replyClass(code: number): ReplyClass {
  const first = Math.floor(code / 100);
  if (first === 2) return 'positive';
  if (first === 3) return 'intermediate';
  if (first === 4) return 'transient';
  return 'permanent';
}

export const isPositive = (r: Reply) => r.code >= 200 && r.code < 300;
export const isFailure = (r: Reply) => r.code >= 400;

/** The reply as it appeared on the wire, one string per line, without CRLF. */
export function replyWireLines(r: Reply): string[] {
  return r.lines.map((text, i) => `${r.code}${i < r.lines.length - 1 ? '-' : ' '}${text}`);
}

/** The human text of the reply: lines joined, enhanced codes stripped from each line. */
export function replyText(r: Reply): string {
  const strip = r.enhanced ? new RegExp(`^${r.enhanced.replace(/\./g, '\\.')}\\s*`) : undefined;
  return r.lines
    .map((l) => (strip ? l.replace(strip, '') : l))
    .join(' ')
    .trim();
}

// RFC 3463 §2: class.subject.detail, class matching the reply's first digit.
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)/;
// RFC 5321 §4.2: first digit 2-5, second 0-5; the text is optional on the last line.
const LINE = /^([2-5][0-5]\d)(?:([ -])(.*))?$/s;

export const MAX_LINE_BYTES = 8192;
export const MAX_REPLY_LINES = 1000;

const protocolError = (message: string) => new SmtpkitError('protocol', message);

/**
 * Whether bytes begin like a TLS record (RFC 8446 §5.1): a handshake (22) or alert (21)
 * record of version 3.x. A prefix too short to tell counts as a match.
 */
export function startsLikeTls(b: Buffer): boolean {
  return (b[0] === 0x16 || b[0] === 0x15) && (b.length < 2 || b[1] === 0x03) && (b.length < 3 || b[2]! <= 0x04);
}

/** TLS where the greeting should be: we spoke plaintext to a port that wants TLS at once (465-style). */
const speaksTlsError = () =>
  new SmtpkitError(
    'connect',
    'the server answered with TLS instead of an SMTP greeting: this port speaks TLS from the start (implicit TLS, as on 465)',
    undefined,
    { kind: 'malformed', hint: { kind: 'speaks-tls' } },
  );

/** A printable excerpt of bad input for error messages: short, with control bytes escaped. */
export function excerpt(text: string, max = 60): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
}

/**
 * Turns bytes from the server into replies. Fed chunk by chunk, so a reply split across
 * any number of TCP segments comes out whole; malformed input becomes a protocol error.
 */
export class ReplyParser {
  private buffered: Buffer = Buffer.alloc(0);
  private partial: { code: number; lines: string[] } | undefined;
  /** Nothing read yet in plaintext: a TLS record here means a TLS port, not a garbled greeting. */
  private atStart = true;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  /**
   * Drops whatever was received beyond the last complete reply and returns it as text
   * (RFC 3207 §6: nothing read before the TLS handshake may be used after it).
   */
  discard(): string {
    const partial = this.partial ? this.partial.lines.map((l) => `${this.partial?.code}-${l}\r\n`).join('') : '';
    const dropped = partial + this.buffered.toString('utf8');
    this.buffered = Buffer.alloc(0);
    this.partial = undefined;
    // Called as TLS starts: what comes next is read through TLS, where a record header is no sign.
    this.atStart = false;
    return dropped;
  }

  /**
   * Parses what arrived. With `max`, stops after that many complete replies and keeps the
   * rest unparsed (STARTTLS: what follows the 220 belongs to TLS, or is dropped).
   */
  push(chunk: Buffer, max = Infinity): Reply[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    if (this.atStart && this.buffered.length) {
      if (startsLikeTls(this.buffered)) {
        if (this.buffered.length >= 3) throw speaksTlsError();
      } else this.atStart = false;
    }
    const replies: Reply[] = [];
    let start = 0;
    while (replies.length < max) {
      const lf = this.buffered.indexOf(0x0a, start);
      if (lf < 0) break;
      let end = lf;
      if (end > start && this.buffered[end - 1] === 0x0d) end--;
      if (end - start > this.maxLineBytes) throw this.tooLong();
      const reply = this.line(this.buffered.toString('utf8', start, end));
      if (reply) replies.push(reply);
      start = lf + 1;
    }
    this.buffered = this.buffered.subarray(start);
    if (replies.length < max && this.buffered.length > this.maxLineBytes) throw this.tooLong();
    return replies;
  }

  /** Called when the connection ends: a half-received reply is an error, not a reply. */
  end(): void {
    if (this.atStart && this.buffered.length && startsLikeTls(this.buffered)) throw speaksTlsError();
    if (this.partial || this.buffered.length) {
      const got = this.partial
        ? `${this.partial.lines.length} line(s) of a multi-line ${this.partial.code} reply`
        : `${excerpt(this.buffered.toString('utf8'))} with no line ending`;
      throw protocolError(`the connection closed in the middle of a reply (got ${got})`);
    }
  }

  private tooLong() {
    return protocolError(`the server sent a reply line longer than ${this.maxLineBytes} bytes; SMTP allows 512`);
  }

  private line(text: string): Reply | undefined {
    const m = LINE.exec(text);
    if (!m) throw protocolError(`the server sent something that is not an SMTP reply: ${excerpt(text)}`);
    const code = Number(m[1]);
    const last = m[2] !== '-';
    const body = m[3] ?? '';
    if (this.partial && this.partial.code !== code) {
      throw protocolError(
        `the lines of one reply disagree on the code (${this.partial.code}, then ${code}): ${excerpt(text)}`,
      );
    }
    const lines = this.partial ? this.partial.lines : [];
    lines.push(body);
    if (lines.length > MAX_REPLY_LINES)
      throw protocolError(`the server sent a reply of more than ${MAX_REPLY_LINES} lines`);
    if (!last) {
      this.partial = { code, lines };
      return undefined;
    }
    this.partial = undefined;
    const e = ENHANCED.exec(lines[0] ?? '');
    const enhanced = e && Number(e[1]) === Math.floor(code / 100) ? `${e[1]}.${Number(e[2])}.${Number(e[3])}` : null;
    return { code, enhanced, lines };
  }
}
