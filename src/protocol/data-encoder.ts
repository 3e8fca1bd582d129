const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const NUL = 0x00;

/** NULs held at a line start (a line is at most 1,000 octets, RFC 5321 §4.5.3.1.6): memory stays flat past it. */
const NUL_HOLD = 1000;

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
 * ...) all become stuffed dot lines. A line whose first byte after NULs is "." is stuffed too
 * ("\r\n\0.\r\n" is an end of data to a server that drops NULs): the dot goes before the NULs,
 * so a conforming server still reads the line as it was. Works chunk by chunk, a CR LF split between chunks
 * included, so a message of any size streams through in constant memory.
 * BDAT (RFC 3030) wants the same line endings but no dot-stuffing.
 */
export class DataEncoder {
  private lineStart = true;
  /** The chunk ended in a CR: whether it is bare depends on the next byte. */
  private pendingCr = false;
  /** NULs at this line's start, not sent yet: whether a dot goes before them depends on what follows. */
  private nuls = 0;
  /** This line began with more NULs than are held: they went out, so a "." after them is stuffed where it stands. */
  private nulLine = false;
  readonly lineEndings: LineEndings = { bareLf: 0, bareCr: 0 };

  constructor(private readonly dotStuff: boolean) {}

  push(chunk: Buffer): Buffer {
    const n = chunk.length;
    // What changes is written into one buffer of the largest size it can need (each byte at most
    // doubled, the held NULs, a held CR's CRLF), made at the first change: a piece and a copy per
    // line end made a message of bare line ends cost 15 times the CPU.
    const size = 2 * n + this.nuls + 3;
    let out: Buffer | undefined;
    let o = 0;
    let start = 0;
    /** Copies the input not copied yet, up to `to`. */
    const copy = (to: number) => {
      out ??= Buffer.allocUnsafe(size);
      // A short stretch is copied here: a native copy per byte of a flood costs more than the byte.
      if (to - start > 64) o += chunk.copy(out, o, start, to);
      else for (let k = start; k < to; k++) out[o++] = chunk[k]!;
      start = to;
    };
    const lineEnd = () => {
      out![o++] = CR;
      out![o++] = LF;
    };
    if (this.pendingCr && n) {
      this.pendingCr = false;
      copy(0);
      lineEnd();
      if (chunk[0] === LF) start = 1;
      else this.lineEndings.bareCr++;
    }
    for (let i = start; i < n; i++) {
      const b = chunk[i]!;
      if (this.lineStart) {
        if (b === NUL && this.dotStuff) {
          copy(i);
          start = i + 1;
          // Held as a count, so a flood of them costs nothing; past the hold they go out as they are.
          if (++this.nuls > NUL_HOLD) {
            out!.fill(0, o, o + this.nuls);
            o += this.nuls;
            this.nuls = 0;
            this.nulLine = true;
          }
          continue;
        }
        this.lineStart = false;
        const stuff = b === DOT && this.dotStuff;
        if (stuff || this.nuls) {
          copy(i);
          if (stuff) out![o++] = DOT;
          out!.fill(0, o, o + this.nuls);
          o += this.nuls;
          this.nuls = 0;
        }
        this.nulLine = false;
      }
      if (b === CR) {
        if (i + 1 === n) {
          // Held back: the LF that would make it a line end may come with the next chunk.
          copy(i);
          start = n;
          this.pendingCr = true;
        } else if (chunk[i + 1] === LF) i++;
        else {
          copy(i);
          lineEnd();
          start = i + 1;
          this.lineEndings.bareCr++;
        }
        this.lineStart = true;
      } else if (b === LF) {
        copy(i);
        lineEnd();
        start = i + 1;
        this.lineEndings.bareLf++;
        this.lineStart = true;
      }
    }
    if (!out) return chunk;
    copy(n);
    return out.subarray(0, o);
  }

  /** What must follow the last chunk: a line end if the data lacked one, then ".", for DATA. */
  end(): Buffer {
    if (this.pendingCr) this.lineEndings.bareCr++;
    const lineEnd = this.pendingCr || !this.lineStart || this.nuls || this.nulLine ? '\r\n' : '';
    const nuls = '\0'.repeat(this.nuls);
    this.pendingCr = false;
    this.lineStart = true;
    this.nuls = 0;
    this.nulLine = false;
    return Buffer.from(nuls + lineEnd + (this.dotStuff ? '.\r\n' : ''), 'latin1');
  }
}
