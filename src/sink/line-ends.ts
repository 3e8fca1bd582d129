const CR = 0x0d;
const LF = 0x0a;
const LF_BYTE = Buffer.from('\n');
const CRLF = Buffer.from('\r\n');

/** What the sink does with a message holding a bare LF or CR (Postfix: smtpd_forbid_bare_newline). */
export type BareNewline = 'note' | 'reject' | 'normalize';
export const BARE_NEWLINE: readonly BareNewline[] = ['note', 'reject', 'normalize'];

/**
 * Finds the bare LFs and CRs in a message's content as it streams (a CR LF split between
 * spans included) and, to normalize, mends each into CRLF. A sender that puts them on the
 * wire is one a hardened MTA refuses, and one whose message two servers may read apart.
 */
export class LineEndScanner {
  bareLf = 0;
  bareCr = 0;
  /** The last span ended in a CR: whether it is bare depends on the next byte. */
  private pendingCr = false;

  constructor(private readonly mend: boolean) {}

  /** The span as it is to be kept: itself, unless mending changed it. */
  take(span: Buffer): Buffer {
    if (!span.length) return span;
    const parts: Buffer[] = [];
    let start = 0;
    const crBefore = this.pendingCr;
    this.pendingCr = false;
    if (crBefore && span[0] !== LF) {
      this.bareCr++;
      if (this.mend) parts.push(LF_BYTE);
    }
    // Only the line-end bytes are visited; the text between them is searched natively.
    let cr = span.indexOf(CR);
    let lf = span.indexOf(LF);
    while (cr >= 0 || lf >= 0) {
      if (lf >= 0 && (cr < 0 || lf < cr)) {
        const i = lf;
        lf = span.indexOf(LF, i + 1);
        if (i > 0 ? span[i - 1] === CR : crBefore) continue;
        this.bareLf++;
        if (this.mend) {
          parts.push(span.subarray(start, i), CRLF);
          start = i + 1;
        }
      } else {
        const i = cr;
        cr = span.indexOf(CR, i + 1);
        if (i + 1 === span.length) this.pendingCr = true;
        else if (span[i + 1] !== LF) {
          this.bareCr++;
          if (this.mend) {
            parts.push(span.subarray(start, i + 1), LF_BYTE);
            start = i + 1;
          }
        }
      }
    }
    if (!parts.length) return span;
    parts.push(span.subarray(start));
    // One buffer, not a piece per line end: a flood of bare LFs must not become a flood of writes.
    return Buffer.concat(parts);
  }

  /** The end of the message: a CR last of all is bare too (mended: the LF it lacks). */
  end(): Buffer | undefined {
    if (!this.pendingCr) return undefined;
    this.pendingCr = false;
    this.bareCr++;
    return this.mend ? LF_BYTE : undefined;
  }

  get found(): boolean {
    return this.bareLf + this.bareCr > 0;
  }
}
