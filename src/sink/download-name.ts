// The name an attachment is saved under: the sender's, made safe. A sender chooses it, so it
// may hold a path, quotes that end the header's parameter, controls or bidi marks that disguise
// its extension; a browser also prefers a Content-Disposition name to the page's download=.

/** At most this many characters of a name are kept (file systems allow 255 octets). */
const MAX_NAME = 120;

/** The last path segment, without controls, bidi marks, quotes or leading/trailing dots and spaces; `fallback` if nothing is left. */
export function safeFileName(name: string | null, fallback: string): string {
  const base = (name ?? '').split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\x00-\x1f\x7f-\x9f"\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '');
  const trimmed = Array.from(clean.replace(/^[\s.]+|[\s.]+$/g, ''))
    .slice(-MAX_NAME)
    .join('');
  return trimmed || fallback;
}

/**
 * `attachment; filename*=UTF-8''…` (RFC 6266, RFC 8187): the name percent-encoded, so no quote,
 * `;` or `=` in it can start another parameter. Only the filename* form, which every current
 * browser reads: a second, quoted filename= would be one more place for a name to be misparsed.
 */
export function attachmentDisposition(name: string | null, fallback: string): string {
  const encoded = encodeURIComponent(safeFileName(name, fallback)).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename*=UTF-8''${encoded}`;
}
