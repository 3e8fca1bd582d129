import type { Reply } from './reply.js';

/** What a server said about itself in its EHLO reply (RFC 5321 §4.1.1.1). */
export interface Capabilities {
  /** The domain the server names on the first line. */
  domain: string;
  /** "EHLO" when parsed from an EHLO reply, "HELO" when the server only spoke plain SMTP. */
  via: 'EHLO' | 'HELO';
  /** Extension keyword (upper case) → its parameters, in the order advertised. */
  extensions: Record<string, string[]>;
}

const WORD_SEPARATORS = /[\s=]+/;

export function parseEhlo(reply: Reply): Capabilities {
  const [first = '', ...rest] = reply.lines;
  const extensions: Record<string, string[]> = {};
  for (const line of rest) {
    // Some old servers write "AUTH=PLAIN LOGIN"; treat it as AUTH.
    const words = line.split(WORD_SEPARATORS);
    let keyword: string | undefined;
    let params: string[] = [];
    for (const w of words) {
      if (!w) continue;
      if (keyword === undefined) {
        keyword = w.toUpperCase();
        params = extensions[keyword] ?? [];
      } else if (!params.includes(w)) params.push(w);
    }
    if (keyword !== undefined) extensions[keyword] = params;
  }
  return { domain: first.trim().split(/\s+/)[0] ?? '', via: 'EHLO', extensions };
}

export function heloCapabilities(reply: Reply): Capabilities {
  return { domain: (reply.lines[0] ?? '').trim().split(/\s+/)[0] ?? '', via: 'HELO', extensions: {} };
}

export const hasExtension = (caps: Capabilities, keyword: string) => keyword.toUpperCase() in caps.extensions;

export const authMechanisms = (caps: Capabilities): string[] =>
  (caps.extensions.AUTH ?? []).map((m) => m.toUpperCase());

/** The SIZE limit in bytes; undefined when not advertised or advertised without a number, 0 = no limit. */
export function sizeLimit(caps: Capabilities): number | undefined {
  const n = caps.extensions.SIZE?.[0];
  return n !== undefined && /^\d+$/.test(n) ? Number(n) : undefined;
}

/** What changed between two capability sets (used after STARTTLS, when AUTH often appears). */
export function diffCapabilities(before: Capabilities, after: Capabilities) {
  const keys = (c: Capabilities) => Object.keys(c.extensions);
  const added = keys(after).filter((k) => !(k in before.extensions));
  const removed = keys(before).filter((k) => !(k in after.extensions));
  const changed = keys(after).filter(
    (k) => k in before.extensions && before.extensions[k]?.join(' ') !== after.extensions[k]?.join(' '),
  );
  return { added, removed, changed };
}
