import { createReadStream, statSync } from 'node:fs';
import { usageError } from '../errors.js';

/** A message to read: a file streamed in chunks, or standard input for '-'; a file that cannot be read is a usage error. */
export async function openInput(file: string): Promise<AsyncIterable<Buffer>> {
  if (file === '-') return process.stdin as AsyncIterable<Buffer>;
  // A directory opens fine on Linux and fails only at the first read, past the check below.
  if (isDirectory(file)) throw usageError(`${file} is a directory`);
  const stream = createReadStream(file, { highWaterMark: 256 * 1024 });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EISDIR'
          ? usageError(`${file} is a directory`)
          : usageError(`cannot read ${file}: ${err.code ?? err.message}`),
      ),
    );
  });
  return stream as AsyncIterable<Buffer>;
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false; // the read says why (ENOENT, EACCES)
  }
}
