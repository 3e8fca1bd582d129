/** Loader hooks for record-loads.ts: each resolved ES module URL, one per line. */
import { appendFileSync } from 'node:fs';

type Resolved = { url: string };
type Next = (specifier: string, context: unknown) => Promise<Resolved>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<Resolved> {
  const result = await next(specifier, context);
  if (process.env.SMTPKIT_RECORD_LOADS) appendFileSync(process.env.SMTPKIT_RECORD_LOADS, `${result.url}\n`);
  return result;
}
