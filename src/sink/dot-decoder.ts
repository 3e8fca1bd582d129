const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF_DOT = Buffer.from('\r\n.');

/**
 * The body of DATA, chunk by chunk (RFC 5321 §4.5.2): finds the end, takes off the dots the
 * client stuffed, and hands on spans of the chunks it was given, never copying or joining
 * the message. Only CRLF "." CRLF ends it: a bare LF never does (the SMTP smuggling fix).
 */
export class DotDecoder {
  private lineStart = true;
  /** A chunk's last bytes that cannot be judged yet: a CR, or "." / ".\r" at a line start. */
  private held: Buffer | undefined;

  constructor(private readonly emit: (span: Buffer) => void) {}

  /** Takes the next chunk; returns the bytes after the end of data once it is seen. */
  feed(chunk: Buffer): Buffer | undefined {
    // `held` is at most two bytes, so this copies each chunk at most once: linear overall.
    const buf = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = undefined;
    let pos = 0;
    for (;;) {
      if (this.lineStart) {
        if (pos >= buf.length) return undefined;
        if (buf[pos] === DOT) {
          const left = buf.length - pos;
          if (left === 1 || (left === 2 && buf[pos + 1] === CR)) {
            this.held = buf.subarray(pos);
            return undefined;
          }
          if (buf[pos + 1] === CR && buf[pos + 2] === LF) return buf.subarray(pos + 3);
          pos++; // a stuffed dot
        }
        this.lineStart = false;
      }
      const i = buf.indexOf(CRLF_DOT, pos);
      if (i >= 0) {
        this.span(buf, pos, i + 2);
        pos = i + 2;
        this.lineStart = true;
        continue;
      }
      const end = buf.length;
      if (end - pos >= 2 && buf[end - 2] === CR && buf[end - 1] === LF) {
        this.span(buf, pos, end);
        this.lineStart = true;
      } else if (end > pos && buf[end - 1] === CR) {
        this.span(buf, pos, end - 1);
        this.held = buf.subarray(end - 1);
      } else this.span(buf, pos, end);
      return undefined;
    }
  }

  private span(buf: Buffer, from: number, to: number) {
    if (to > from) this.emit(buf.subarray(from, to));
  }
}
