const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const DOT_BYTE = Buffer.from('.');

/** Line ends in the input that were not CRLF, each sent as CRLF. */
export interface LineEndings {
  bareLf: number;
  bareCr: number;
}

/** "2 bare LF and 1 bare CR", for a warning or a note. */
export function bareLineEndsText(e: LineEndings): string {
  return [e.bareLf ? `${e.bareLf} bare LF` : '', e.bareCr ? `${e.bareCr} bare CR` : ''].filter(Boolean).join(' and ');
}

/**
 * Turns message bytes into what goes on the wire after DATA (RFC 5321 §4.5.2): every bare LF
 * and every bare CR becomes CRLF (§2.3.8: only CRLF ends a line on the wire), a line starting
 * with "." gets another ".", and the data ends with CRLF. So no end-of-data sequence but the
 * final CRLF "." CRLF ever reaches a server: the SMTP smuggling variants ("\n.\n", "\r.\r\n"
 * ...) all become stuffed dot lines. Works chunk by chunk, a CR LF split between chunks
 * included, so a message of any size streams through in constant memory.
 * BDAT (RFC 3030) wants the same line endings but no dot-stuffing.
 */
export class DataEncoder {
  private lineStart = true;
  /** The chunk ended in a CR: whether it is bare depends on the next byte. */
  private pendingCr = false;
  readonly lineEndings: LineEndings = { bareLf: 0, bareCr: 0 };

  constructor(private readonly dotStuff: boolean) {}

  push(chunk: Buffer): Buffer {
    const parts: Buffer[] = [];
    let start = 0;
    if (this.pendingCr && chunk.length) {
      this.pendingCr = false;
      parts.push(CRLF);
      if (chunk[0] === LF) start = 1;
      else this.lineEndings.bareCr++;
    }
    const n = chunk.length;
    for (let i = start; i < n; i++) {
      const b = chunk[i]!;
      if (this.lineStart) {
        this.lineStart = false;
        if (b === DOT && this.dotStuff) {
          parts.push(chunk.subarray(start, i), DOT_BYTE);
          start = i;
        }
      }
      if (b === CR) {
        if (i + 1 === n) {
          // Held back: the LF that would make it a line end may come with the next chunk.
          parts.push(chunk.subarray(start, i));
          start = n;
          this.pendingCr = true;
        } else if (chunk[i + 1] === LF) i++;
        else {
          parts.push(chunk.subarray(start, i), CRLF);
          start = i + 1;
          this.lineEndings.bareCr++;
        }
        this.lineStart = true;
      } else if (b === LF) {
        parts.push(chunk.subarray(start, i), CRLF);
        start = i + 1;
        this.lineEndings.bareLf++;
        this.lineStart = true;
      }
    }
    if (!parts.length) return chunk;
    parts.push(chunk.subarray(start));
    return Buffer.concat(parts);
  }

  /** What must follow the last chunk: a line end if the data lacked one, then ".", for DATA. */
  end(): Buffer {
    if (this.pendingCr) this.lineEndings.bareCr++;
    const lineEnd = this.pendingCr || !this.lineStart ? '\r\n' : '';
    this.pendingCr = false;
    this.lineStart = true;
    return Buffer.from(lineEnd + (this.dotStuff ? '.\r\n' : ''));
  }
}
