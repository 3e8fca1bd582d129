import { createHash, type Hash } from 'node:crypto';

/** RFC 6376 §3.4: "simple" keeps bytes as they are, "relaxed" tolerates whitespace and case changes. */
export type Canon = 'simple' | 'relaxed';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const TAB = 0x09;
const CRLF = Buffer.from('\r\n');
const SPACE = Buffer.from(' ');

/** One header field, canonicalized, with its CRLF (RFC 6376 §3.4.1, §3.4.2). `raw` is "Name: value" with any folding, no final CRLF. */
export function canonHeader(raw: string, canon: Canon): string {
  if (canon === 'simple') return `${raw}\r\n`;
  const colon = raw.indexOf(':');
  const name = raw
    .slice(0, colon)
    .replace(/[ \t]+$/, '')
    .toLowerCase();
  const value = raw
    .slice(colon + 1)
    .replace(/\r?\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
  return `${name}:${value}\r\n`;
}

/**
 * The body canonicalization as a stream (RFC 6376 §3.4.3, §3.4.4): chunks go in, the
 * canonical bytes go to a hash, and nothing bigger than one chunk is held, so a body
 * of any size (attachments) is hashed in constant memory. Bare LF counts as a line end,
 * as it does on the wire (the DATA encoder turns it into CRLF). `limit` is l=: only that
 * many canonical bytes are hashed; `length` counts them all.
 */
export class BodyHasher {
  private readonly hash: Hash;
  /** Line ends seen since the last content: emitted only if content follows (trailing empty lines are dropped). */
  private heldLineEnds = 0;
  private pendingSpace = false;
  private pendingCr = false;
  private anyContent = false;
  /** Canonical body length so far (all of it, past any l=). */
  length = 0;

  constructor(
    private readonly canon: Canon,
    algorithm: 'sha256' | 'sha1' = 'sha256',
    private readonly limit?: number,
  ) {
    this.hash = createHash(algorithm);
  }

  private emit(b: Buffer) {
    if (!b.length) return;
    const room = this.limit === undefined ? b.length : Math.max(0, this.limit - this.length);
    if (room > 0) this.hash.update(room >= b.length ? b : b.subarray(0, room));
    this.length += b.length;
  }

  private flushLineEnds() {
    for (; this.heldLineEnds > 0; this.heldLineEnds--) this.emit(CRLF);
  }

  /** Content bytes of one line (no CR/LF line ends in them). */
  private content(b: Buffer) {
    if (!b.length) return;
    if (this.canon === 'simple') {
      this.flushLineEnds();
      this.anyContent = true;
      this.emit(b);
      return;
    }
    let start = 0;
    for (let i = 0; i <= b.length; i++) {
      const c = i < b.length ? b[i]! : -1;
      if (c === SP || c === TAB || c === -1) {
        if (i > start) {
          this.flushLineEnds();
          if (this.pendingSpace) this.emit(SPACE);
          this.pendingSpace = false;
          this.anyContent = true;
          this.emit(b.subarray(start, i));
        }
        if (c !== -1) this.pendingSpace = true;
        start = i + 1;
      }
    }
  }

  private lineEnd() {
    // Relaxed: whitespace at the end of a line is dropped.
    this.pendingSpace = false;
    this.heldLineEnds++;
  }

  update(chunk: Buffer): void {
    let start = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (chunk[0] === LF) {
        this.lineEnd();
        start = 1;
      } else this.content(Buffer.from([CR]));
    }
    for (let i = start; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === LF) {
        const crlf = i > start && chunk[i - 1] === CR;
        this.content(chunk.subarray(start, crlf ? i - 1 : i));
        this.lineEnd();
        start = i + 1;
      }
    }
    if (start < chunk.length) {
      if (chunk[chunk.length - 1] === CR) {
        this.content(chunk.subarray(start, chunk.length - 1));
        this.pendingCr = true;
      } else this.content(chunk.subarray(start));
    }
  }

  /** The body hash, base64 (bh=). */
  digest(): string {
    if (this.pendingCr) this.content(Buffer.from([CR]));
    this.pendingCr = false;
    // Simple: the body always ends in exactly one CRLF (an empty body is CRLF);
    // relaxed: one CRLF after any content, nothing for an empty body.
    if (this.canon === 'simple' || this.anyContent) this.emit(CRLF);
    return this.hash.digest('base64');
  }
}
