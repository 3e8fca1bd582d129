import { isUtf8 } from 'node:buffer';

/** Header fields and DKIM tag lists (RFC 6376 §3.2), shared by signing, verifying and the key check. */

export interface HeaderField {
  /** As written, without the colon. */
  name: string;
  /** "Name: value" with its folding, without the final CRLF. */
  raw: string;
}

/** Splits a header block (CRLF or LF line ends, no blank line) into fields; continuation lines join the field above. */
export function splitHeader(block: string): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line) continue;
    if ((line[0] === ' ' || line[0] === '\t') && fields.length) {
      fields[fields.length - 1]!.raw += `\r\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    fields.push({ name: colon > 0 ? line.slice(0, colon).trim() : line, raw: line });
  }
  return fields;
}

/** The value of a field: unfolded, trimmed. */
export function fieldValue(f: HeaderField): string {
  return f.raw
    .slice(f.raw.indexOf(':') + 1)
    .replace(/\r?\n/g, '')
    .trim();
}

/**
 * Header text is carried as latin1 (one char per byte, so signing sees the bytes as sent);
 * a value shown or looked up is the text those bytes mean: UTF-8 when they are UTF-8
 * (RFC 6532), else one char per byte as before.
 */
export function headerText(latin1: string): string {
  if (!/[\x80-\xff]/.test(latin1)) return latin1;
  const bytes = Buffer.from(latin1, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : latin1;
}

export type TagList = Map<string, string>;

/**
 * A tag=value list. Tag names are case-sensitive; a name twice, a tag without "=", or a
 * name that is not ALPHA *(ALNUM / "_") is a syntax error (RFC 6376 §3.2).
 */
export function parseTagList(text: string): { tags: TagList; errors: string[] } {
  const tags: TagList = new Map();
  const errors: string[] = [];
  const parts = text.split(';');
  parts.forEach((part, i) => {
    if (!part.trim()) {
      if (i !== parts.length - 1) errors.push('an empty tag between two semicolons');
      return;
    }
    const eq = part.indexOf('=');
    if (eq < 0) {
      errors.push(`"${part.trim()}" has no "="`);
      return;
    }
    const name = part.slice(0, eq).trim();
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) errors.push(`"${name}" is not a tag name`);
    else if (tags.has(name)) errors.push(`the tag ${name}= appears twice`);
    else
      tags.set(
        name,
        part
          .slice(eq + 1)
          .replace(/\r?\n/g, '')
          .trim(),
      );
  });
  return { tags, errors };
}

/** base64 values (b=, bh=, p=) may be folded: whitespace inside does not count. */
export const compact = (v: string) => v.replace(/[ \t\r\n]+/g, '');

/** The domain of the (first) address in a From: value, lower case. */
export function addressDomain(value: string): string | undefined {
  const angle = /<([^<>]*)>/.exec(value)?.[1] ?? value;
  const at = angle.lastIndexOf('@');
  if (at < 0) return undefined;
  const d = angle
    .slice(at + 1)
    .replace(/[>\s,;].*$/, '')
    .replace(/\.$/, '')
    .toLowerCase();
  return d || undefined;
}

/** The field with the value of its b= tag emptied, folding elsewhere kept: what was signed (RFC 6376 §3.7). */
export function withoutSignatureValue(raw: string): string {
  const colon = raw.indexOf(':');
  const parts = raw.slice(colon + 1).split(';');
  return `${raw.slice(0, colon + 1)}${parts.map((s) => (/^\s*b\s*=/.test(s) ? s.slice(0, s.indexOf('=') + 1) : s)).join(';')}`;
}
