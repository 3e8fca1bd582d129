const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');

/**
 * Turns message bytes into what goes on the wire after DATA (RFC 5321 §4.5.2): bare LF
 * becomes CRLF, a line starting with "." gets another ".", and the data ends with CRLF.
 * Works chunk by chunk, so a message of any size streams through in constant memory.
 * BDAT (RFC 3030) wants the same line endings but no dot-stuffing.
 */
export class DataEncoder {
  private prev = LF;

  constructor(private readonly dotStuff: boolean) {}

  push(chunk: Buffer): Buffer {
    const parts: Buffer[] = [];
    let start = 0;
    let prev = this.prev;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === LF && prev !== CR) {
        parts.push(chunk.subarray(start, i), CRLF);
        start = i + 1;
      } else if (b === DOT && prev === LF && this.dotStuff) {
        parts.push(chunk.subarray(start, i), Buffer.from('.'));
        start = i;
      }
      prev = b;
    }
    this.prev = prev;
    if (!parts.length) return chunk;
    parts.push(chunk.subarray(start));
    return Buffer.concat(parts);
  }

  /** What must follow the last chunk: a line end if the data lacked one, then ".", for DATA. */
  end(): Buffer {
    const lineEnd = this.prev === LF ? '' : this.prev === CR ? '\n' : '\r\n';
    return Buffer.from(lineEnd + (this.dotStuff ? '.\r\n' : ''));
  }
}
