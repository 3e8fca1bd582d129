const CR = 0x0d;
const LF = 0x0a;
const LF_BYTE = Buffer.from('\n');

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
    // Mending writes into one buffer of the largest size it can need (a byte added per byte at
    // most): a piece and a copy per line end made a flood of bare CRs cost 5 times the CPU.
    let out: Buffer | undefined;
    let o = 0;
    let start = 0;
    /** Copies what is not copied yet up to `at`, then `byte`. */
    const insert = (at: number, byte: number) => {
      out ??= Buffer.allocUnsafe(2 * span.length + 1);
      // A short stretch is copied here: a native copy per byte of a flood costs more than the byte.
      if (at - start > 64) o += span.copy(out, o, start, at);
      else for (let k = start; k < at; k++) out[o++] = span[k]!;
      out[o++] = byte;
      start = at;
    };
    const crBefore = this.pendingCr;
    this.pendingCr = false;
    if (crBefore && span[0] !== LF) {
      this.bareCr++;
      if (this.mend) insert(0, LF);
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
        if (this.mend) insert(i, CR);
      } else {
        const i = cr;
        cr = span.indexOf(CR, i + 1);
        if (i + 1 === span.length) this.pendingCr = true;
        else if (span[i + 1] !== LF) {
          this.bareCr++;
          if (this.mend) insert(i + 1, LF);
        }
      }
    }
    if (!out) return span;
    o += span.copy(out, o, start);
    return out.subarray(0, o);
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
