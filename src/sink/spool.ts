import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';

/** Enough of the message's start to read its header block. */
const HEAD_LIMIT = 64 * 1024;

/**
 * One message as it arrives: counts its bytes, keeps its first 64 KiB for the headers, and
 * with a directory writes it to a temporary name that `commit` renames, so no partial .eml
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
  private kept: Buffer[] | undefined;

  constructor(
    readonly id: string,
    private readonly maxSize: number,
    private readonly dir: string | undefined,
    keep = false,
  ) {
    if (keep) this.kept = [];
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
    if (this.headSize < HEAD_LIMIT) {
      const part = Buffer.from(span.subarray(0, HEAD_LIMIT - this.headSize));
      this.headParts.push(part);
      this.headSize += part.length;
    }
    if (this.oversized) {
      this.kept = undefined;
      this.discard();
      return true;
    }
    // A copy: a view would pin the whole socket chunk it was cut from.
    this.kept?.push(Buffer.from(span));
    if (!this.file || this.error) return true;
    return this.file.write(span);
  }

  /** Resolves when the file has taken what it was given (or failed). */
  drained(): Promise<void> {
    if (!this.file || this.error || !this.file.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  head(): Buffer {
    return Buffer.concat(this.headParts);
  }

  /** The message as received, when the spool was asked to keep it. */
  body(): Buffer | undefined {
    return this.kept && Buffer.concat(this.kept, this.size);
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
