import { domainToASCII } from 'node:url';

/**
 * Names go out as A-labels (IDNA, RFC 5890): a zone holds xn--bcher-kva.test, so a query for
 * bücher.test in UTF-8 would find nothing. ASCII names pass through untouched.
 */
export function aLabels(name: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(name)) return name;
  // URL host parsing also decodes %XX first: bü%41.test would be looked up as büa.test.
  if (name.includes('%')) return undefined;
  const ascii = domainToASCII(name);
  // URL host parsing stops at '/', '?' or '#': a name that lost labels on the way is refused too.
  return ascii && ascii.split('.').length === name.split('.').length ? ascii : undefined;
}

export const notIdna = (name: string) => `${JSON.stringify(name)} is not a valid internationalized domain name (IDNA)`;
