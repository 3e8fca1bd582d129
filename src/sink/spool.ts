import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';

/** Enough of the message's start to read its header block. */
export const HEAD_BYTES = 64 * 1024;

/**
 * One message as it arrives: counts its bytes, keeps its first 64 KiB for the headers (or,
 * asked to keep the message, all of it in blocks), and with a directory writes it to a temporary name that `commit` renames, so no partial .eml
 * is ever visible. Past `maxSize` it only counts. The file name is ours (time and id),
 * never anything the client sent.
 */
export class Spool {
  size = 0;
  private headParts: Buffer[] = [];
  private headSize = 0;
  private file: WriteStream | undefined;
  private readonly temp: string | undefined;
  private error: Error | undefined;
  private drainWaiters: Array<() => void> = [];
  /** The whole message, when asked to keep it (the HTTP API's store); dropped past maxSize. */
  private kept: Blocks | undefined;

  constructor(
    readonly id: string,
    private readonly maxSize: number,
    private readonly dir: string | undefined,
    keep = false,
  ) {
    if (keep) this.kept = new Blocks();
    if (dir === undefined) return;
    this.temp = join(dir, `.${id}.eml.tmp`);
    this.file = createWriteStream(this.temp, { flags: 'wx' });
    this.file.on('error', (err) => {
      this.error ??= err;
      this.release();
    });
    this.file.on('drain', () => this.release());
  }

  get oversized(): boolean {
    return this.size > this.maxSize;
  }

  /** Takes the next span; false when the file wants a pause (call `drained` before more). */
  write(span: Buffer): boolean {
    this.size += span.length;
    // A kept message has its head in its blocks already.
    if (!this.kept && this.headSize < HEAD_BYTES) {
      const part = Buffer.from(span.subarray(0, HEAD_BYTES - this.headSize));
      this.headParts.push(part);
      this.headSize += part.length;
    }
    if (this.oversized) {
      this.kept = undefined;
      this.discard();
      return true;
    }
    this.kept?.append(span);
    if (!this.file || this.error) return true;
    return this.file.write(span);
  }

  /** Resolves when the file has taken what it was given (or failed). */
  drained(): Promise<void> {
    if (!this.file || this.error || !this.file.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** The message's first bytes (up to 64 KiB), for its header block; not with `keep` (read body()). */
  head(): Buffer {
    return Buffer.concat(this.headParts);
  }

  /**
   * The message as received, when the spool was asked to keep it: one buffer of its exact
   * size, made once at the end (the blocks it arrived in go then).
   */
  body(): Buffer | undefined {
    const kept = this.kept;
    this.kept = undefined;
    return kept?.join(this.size);
  }

  /** Makes the message visible under its final name; throws why it could not. */
  async commit(name: () => string): Promise<string | undefined> {
    if (!this.file || !this.temp || !this.dir) return undefined;
    const file = this.file;
    this.file = undefined;
    try {
      if (this.error) throw this.error;
      file.end();
      await finished(file);
      if (this.error) throw this.error;
      const path = join(this.dir, name());
      await rename(this.temp, path);
      return path;
    } catch (err) {
      file.destroy();
      await unlink(this.temp).catch(() => {});
      throw err;
    }
  }

  /** Drops the message: nothing of it stays on disk. */
  discard(): void {
    const file = this.file;
    if (!file || !this.temp) return;
    this.file = undefined;
    const temp = this.temp;
    const remove = () => void unlink(temp).catch(() => {});
    // Remove the file once the stream has let go of it (it may still be opening).
    if (file.closed) remove();
    else file.once('close', remove);
    file.destroy();
    this.release();
  }

  private release() {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}

/** Blocks grow from 16 KiB to 1 MiB: few for a large message, little slack for a small one. */
const FIRST_BLOCK = 16 * 1024;
const LARGEST_BLOCK = 1024 * 1024;

/**
 * A message's bytes as they arrive, copied into blocks it fills one after the other: a copy
 * per span (a view would pin the whole socket chunk it was cut from), but whatever the spans'
 * sizes (a trickle of one-byte reads too) one allocation per block, never one per span.
 */
class Blocks {
  private readonly full: Buffer[] = [];
  private block: Buffer | undefined;
  private used = 0;

  append(span: Buffer) {
    let from = 0;
    while (from < span.length) {
      if (!this.block || this.used === this.block.length) {
        if (this.block) this.full.push(this.block);
        const size = Math.min(LARGEST_BLOCK, Math.max(FIRST_BLOCK, 2 * (this.block?.length ?? 0)));
        // Slow: a block of its own, outside Node's shared 8 KiB pool (its slack would stay with the pool).
        this.block = Buffer.allocUnsafeSlow(size);
        this.used = 0;
      }
      const n = span.copy(this.block, this.used, from);
      this.used += n;
      from += n;
    }
  }

  /**
   * The bytes in one buffer of exactly `size` bytes (allocUnsafeSlow: never a slice of the
   * shared pool, which a stored message would keep alive whole), filled here.
   */
  join(size: number): Buffer {
    const out = Buffer.allocUnsafeSlow(size);
    let at = 0;
    for (const b of this.full) at += b.copy(out, at);
    if (this.block) at += this.block.copy(out, at, 0, this.used);
    return at === size ? out : out.subarray(0, at);
  }
}
