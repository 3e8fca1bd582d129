import { isIP } from 'node:net';
import { usageError } from '../errors.js';
import { assertSingleLine } from '../protocol/command.js';
import { aLabels, notIdna } from '../protocol/idna.js';

// IDNA lives in protocol/ (the session needs it too); re-exported for dns/'s own files.
export { aLabels, notIdna };

/** A domain as a user types it: trailing dot and case dropped; an address is refused. */
export function parseDomain(text: string): string {
  assertSingleLine(text, 'the domain');
  const d = text.trim().replace(/\.$/, '').toLowerCase();
  const literal = addressLiteral(d);
  if (literal)
    throw usageError(
      `${JSON.stringify(text)} is ${literal}, not a domain name: an address has no MX or other records in DNS to look up (give a domain name)`,
    );
  if (!/^[a-z0-9_]([a-z0-9_-]{0,62}\.)*[a-z0-9_-]{1,63}$/i.test(d) && !/^[^\s@]+$/.test(d))
    throw usageError(`${JSON.stringify(text)} is not a domain name`);
  if (d.includes('@')) throw usageError(`${JSON.stringify(text)} is an address; give the domain after the @`);
  const ascii = aLabels(d);
  if (ascii === undefined) throw usageError(notIdna(text));
  const tooLong = dnsNameProblem(ascii);
  if (tooLong) throw usageError(`${JSON.stringify(text)} is not a domain name: ${tooLong}`);
  return d;
}

/**
 * A domain literal ([192.0.2.1], [IPv6:2001:db8::1], RFC 5321 §4.1.3) or a bare address:
 * what it is, in words, or undefined for anything else. Looked up as a name it would only
 * come back NXDOMAIN, which says nothing true about the address.
 */
function addressLiteral(d: string): string | undefined {
  if (d.startsWith('[') || d.endsWith(']')) return 'a domain literal (an address in brackets, RFC 5321 §4.1.3)';
  if (isIP(d)) return 'an IP address';
  return undefined;
}

/**
 * RFC 1035 §2.3.4: labels of 1 to 63 octets, 253 in all. Checked on the A-label form (a
 * short U-label can grow past 63): the DNS encoder would otherwise throw as an internal error.
 */
export function dnsNameProblem(ascii: string): string | undefined {
  const name = ascii.replace(/\.$/, '');
  if (name === '') return undefined;
  if (name.length > 253) return `it is ${name.length} octets long, over DNS's 253`;
  const label = name.split('.').find((l) => l.length === 0 || l.length > 63);
  if (label === undefined) return undefined;
  return label ? `a label of ${label.length} octets, over DNS's 63` : 'it has an empty label';
}

/**
 * A name as DNS sent it, in master-file form (RFC 1035 §5.1), as dig shows it: dns2 decodes
 * each octet as one character (latin1), so a raw UTF-8 ü arrives as "Ã¼", which would read as
 * another name and IDNA-convert to a third. Octets outside printable ASCII become \DDD (the
 * two octets of ü: \195\188), and the characters the form reserves a backslash before them.
 */
export function presentationName(decoded: string): string {
  // eslint-disable-next-line no-control-regex
  return decoded.replace(/[^\x21-\x7e]|["();@$\\]/g, (ch) => {
    const n = ch.charCodeAt(0);
    return n < 0x21 || n > 0x7e ? `\\${String(n).padStart(3, '0')}` : `\\${ch}`;
  });
}

/** A name in master-file form holding an escaped octet: no host name has one (RFC 1123 §2.1). */
export const hasEscapedOctet = (presented: string) => presented.includes('\\');
