import { closeSync, openSync, readSync } from 'node:fs';
import { SmtpkitError, usageError } from '../errors.js';

/** Files named by options or configs (CA bundles, keys, --targets, --config) are small: more than this is a mistake such as /dev/zero. */
export const SMALL_FILE_LIMIT = 16 * 1024 * 1024;

/**
 * A small file (named by an option or a config setting: `what` says which, for the error),
 * read to at most `limit` bytes. Pipes and /dev/stdin stay
 * allowed (--password-file <(pass show x)); an endless device is refused, not read into memory.
 */
export function readSmallFile(
  file: string,
  what: string,
  limit = SMALL_FILE_LIMIT,
  opts: { dashIsStdin?: boolean } = {},
): string {
  let fd: number | undefined;
  // "-" reads file descriptor 0: /dev/stdin cannot be opened when stdin is a socket (ENXIO).
  const stdin = opts.dashIsStdin && file === '-';
  try {
    fd = stdin ? 0 : openSync(file, 'r');
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > limit) throw usageError(`${what}: ${file} is over ${limit} bytes`);
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (err) {
    if (err instanceof SmtpkitError) throw err;
    throw usageError(`${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    if (fd !== undefined && !stdin) closeSync(fd);
  }
}
