import { readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Where a saved message's summary goes: beside its .eml. */
const sidecar = (file: string) => `${file}.json`;

/** Writes the summary beside the .eml; a failure costs only the envelope after a restart. */
export async function writeSidecar(file: string, summary: object): Promise<void> {
  await writeFile(sidecar(file), `${JSON.stringify(summary)}\n`, { flag: 'w' }).catch(() => {});
}

/** A message deleted through the API leaves the save directory too (else a restart brings it back). */
export function removeSaved(file: string): void {
  void unlink(file).catch(() => {});
  void unlink(sidecar(file)).catch(() => {});
}

export interface Archived {
  id: string;
  receivedAt: string;
  raw: Buffer;
  file: string;
  /** Its summary as written, parsed but unchecked; undefined when missing or not JSON. */
  summary: unknown;
}

/**
 * The newest .eml files in `dir` that fit the store's bounds, oldest first. The sink names them
 * `<time>-<queue id>.eml`, so the name sorts by time; a file named otherwise is taken by its
 * modification time and named by its file name.
 */
export async function readArchive(dir: string, bounds: { maxMessages: number; maxBytes: number }): Promise<Archived[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter(
    (n) => n.endsWith('.eml') && !n.startsWith('.'),
  );
  names.sort();
  const out: Archived[] = [];
  let bytes = 0;
  for (let i = names.length - 1; i >= 0 && out.length < bounds.maxMessages; i--) {
    const file = join(dir, names[i]!);
    // Sized before it is read: one huge file must not be read only to be dropped.
    const size = await stat(file).then(
      (st) => (st.isFile() ? st.size : undefined),
      () => undefined,
    );
    if (size === undefined || bytes + size > bounds.maxBytes) continue;
    const raw = await readFile(file).catch(() => undefined);
    if (!raw) continue;
    bytes += raw.length;
    const m = /^(\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d)-(\d{3})Z-([0-9A-F]+)\.eml$/.exec(names[i]!);
    const receivedAt = m ? `${m[1]}:${m[2]}:${m[3]}.${m[4]}Z` : new Date((await stat(file)).mtimeMs).toISOString();
    const id = m ? m[5]! : names[i]!.slice(0, -4);
    out.push({
      id,
      receivedAt,
      raw,
      file,
      summary: await readFile(sidecar(file), 'utf8').then(
        (t) => JSON.parse(t) as unknown,
        () => undefined,
      ),
    });
  }
  return out.reverse();
}
