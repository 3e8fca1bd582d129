import { usageError } from '../errors.js';
import { assertSingleLine } from '../protocol/command.js';
import { headerText, isAscii } from './encode.js';

/** An address as given: `a@b`, `Name <a@b>`, or `<>` (the null sender). */
export interface Address {
  name: string | undefined;
  /** The envelope address; "" for the null sender. */
  address: string;
}

export function parseAddress(text: string, option: string, allowNull = false): Address {
  assertSingleLine(text, option);
  const t = text.trim();
  const angle = /^(.*?)\s*<([^<>]*)>$/.exec(t);
  const name =
    angle?.[1]?.replace(/^"(.*)"$/, (_m, inner: string) => inner.replace(/\\(.)/g, '$1')).trim() || undefined;
  const address = (angle ? angle[2]! : t).trim();
  if (address === '') {
    if (allowNull) return { name: undefined, address: '' };
    throw usageError(`${option}: an empty address is only allowed as the sender (--from '<>')`);
  }
  if (/[\s<>()[\],;:\\"]/.test(address.replace(/^"[^"]*"@/, 'x@')) || !/^[^@]+@[^@]+$/.test(address)) {
    throw usageError(`${option}: ${JSON.stringify(text)} is not an address of the form local@domain`);
  }
  return { name, address };
}

/** Splits comma lists and flattens repeated options: --to a,b --to c. */
export function parseAddressList(values: string[] | undefined, option: string): Address[] {
  return splitAddressList(values).map((v) => parseAddress(v, option));
}

/**
 * The addresses of `--to a,b --to c`, split at commas outside quotes and angle brackets:
 * `"Bob, Jr." <bob@example.test>` is one address (RFC 5322 §3.4 quoted display names).
 */
export function splitAddressList(values: string[] | undefined): string[] {
  const out: string[] = [];
  for (const value of values ?? []) {
    let current = '';
    let quoted = false;
    let angle = false;
    for (let i = 0; i < value.length; i++) {
      const ch = value[i]!;
      if (quoted && ch === '\\' && i + 1 < value.length) {
        current += ch + value[++i];
        continue;
      }
      if (ch === '"') quoted = !quoted;
      else if (!quoted && ch === '<') angle = true;
      else if (!quoted && ch === '>') angle = false;
      else if (ch === ',' && !quoted && !angle) {
        out.push(current);
        current = '';
        continue;
      }
      current += ch;
    }
    out.push(current);
  }
  return out.map((v) => v.trim()).filter(Boolean);
}

export const needsUtf8 = (a: Address) => !isAscii(a.address);

/** The address as a header shows it: `Name <a@b>` with the name quoted or encoded as needed. */
export function headerAddress(a: Address): string {
  if (!a.name) return a.address;
  const name = !isAscii(a.name)
    ? headerText(a.name)
    : /^[\w .!#$%&'*+\-/=?^`{|}~]*$/.test(a.name)
      ? a.name
      : `"${a.name.replace(/(["\\])/g, '\\$1')}"`;
  return `${name} <${a.address}>`;
}
