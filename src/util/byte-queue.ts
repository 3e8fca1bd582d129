/**
 * Bytes that arrive in pieces, joined only when a read needs them joined: a peer dripping a
 * byte at a time costs one copy per record read, not a copy of everything held per byte
 * (which, up to a 128 KiB bound, was about 1 GB of copying).
 */
export class ByteQueue {
  private parts: Buffer[] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  append(bytes: Buffer): void {
    if (!bytes.length) return;
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  /** The first `n` bytes (n ≤ length), the held pieces joined once if they are split. */
  peek(n: number): Buffer {
    if (n > this.size) throw new RangeError(`peek(${n}) with ${this.size} bytes held`);
    // An empty queue has no first piece to cut 0 bytes from.
    if (!n) return Buffer.alloc(0);
    if (this.parts[0]!.length < n) this.parts = [Buffer.concat(this.parts, this.size)];
    return this.parts[0]!.subarray(0, n);
  }

  /** Removes and returns the first `n` bytes (n ≤ length). */
  take(n: number): Buffer {
    const bytes = this.peek(n);
    if (!n) return bytes;
    const rest = this.parts[0]!.subarray(n);
    if (rest.length) this.parts[0] = rest;
    else this.parts.shift();
    this.size -= n;
    return bytes;
  }
}
