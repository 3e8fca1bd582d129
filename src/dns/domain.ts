import { usageError } from '../errors.js';
import { assertSingleLine } from '../protocol/command.js';

/** A domain as a user types it: trailing dot and case dropped; an address is refused. */
export function parseDomain(text: string): string {
  assertSingleLine(text, 'the domain');
  const d = text.trim().replace(/\.$/, '').toLowerCase();
  if (!/^[a-z0-9_]([a-z0-9_-]{0,62}\.)*[a-z0-9_-]{1,63}$/i.test(d) && !/^[^\s@]+$/.test(d)) throw usageError(`${JSON.stringify(text)} is not a domain name`);
  if (d.includes('@')) throw usageError(`${JSON.stringify(text)} is an address; give the domain after the @`);
  return d;
}
