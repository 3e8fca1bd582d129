import { domainToASCII } from 'node:url';
import { usageError } from '../errors.js';
import { assertSingleLine } from '../protocol/command.js';

/** A domain as a user types it: trailing dot and case dropped; an address is refused. */
export function parseDomain(text: string): string {
  assertSingleLine(text, 'the domain');
  const d = text.trim().replace(/\.$/, '').toLowerCase();
  if (!/^[a-z0-9_]([a-z0-9_-]{0,62}\.)*[a-z0-9_-]{1,63}$/i.test(d) && !/^[^\s@]+$/.test(d)) throw usageError(`${JSON.stringify(text)} is not a domain name`);
  if (d.includes('@')) throw usageError(`${JSON.stringify(text)} is an address; give the domain after the @`);
  if (aLabels(d) === undefined) throw usageError(notIdna(text));
  return d;
}

/**
 * Names go out as A-labels (IDNA, RFC 5890): a zone holds xn--bcher-kva.test, so a query for
 * bücher.test in UTF-8 would find nothing. ASCII names pass through untouched.
 */
export function aLabels(name: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(name)) return name;
  const ascii = domainToASCII(name);
  // URL host parsing stops at '/', '?' or '#': a name that lost labels on the way is refused too.
  return ascii && ascii.split('.').length === name.split('.').length ? ascii : undefined;
}

export const notIdna = (name: string) => `${JSON.stringify(name)} is not a valid internationalized domain name (IDNA)`;
