/**
 * A small MIME reader for the messages the sink keeps: headers, the first text and HTML
 * parts, and the attachments (name, type, size). It reads untrusted input, so every loop is
 * bounded (nesting depth, part count) and nothing it finds is ever thrown: a malformed
 * message reads as far as it makes sense, and the rest is a plain body.
 */

/** Deeper nesting than this is read as an opaque part (a real message nests 3 or 4 deep). */
const MAX_DEPTH = 16;
/** Parts read per message; more are counted, not parsed. */
const MAX_PARTS = 500;

export type HeaderList = Array<[name: string, value: string]>;

export interface MimeAttachment {
  /** Its place among the message's attachments, from 0. */
  index: number;
  name: string | null;
  type: string;
  /** Decoded size in bytes. */
  size: number;
  disposition: 'attachment' | 'inline';
  contentId: string | null;
}

export interface ReadMessage {
  headers: HeaderList;
  text: string | null;
  html: string | null;
  attachments: MimeAttachment[];
  /** Parts past MAX_PARTS or MAX_DEPTH that were not read. */
  unreadParts: number;
}

interface Part {
  headers: HeaderList;
  body: Buffer;
}

/** Splits a header block from its body at the first empty line (CRLF or a bare LF). */
export function splitPart(raw: Buffer): Part {
  // A part with no header fields starts with its empty line.
  if (raw[0] === 0x0a) return { headers: [], body: raw.subarray(1) };
  if (raw[0] === 0x0d && raw[1] === 0x0a) return { headers: [], body: raw.subarray(2) };
  for (let i = raw.indexOf(0x0a); i >= 0; i = raw.indexOf(0x0a, i + 1)) {
    const next = raw[i + 1] === 0x0d && raw[i + 2] === 0x0a ? i + 2 : raw[i + 1] === 0x0a ? i + 1 : -1;
    if (next >= 0) return { headers: parseHeaders(raw.subarray(0, i + 1)), body: raw.subarray(next + 1) };
  }
  return { headers: parseHeaders(raw), body: raw.subarray(raw.length) };
}

/** Header fields, unfolded (RFC 5322 §2.2.3); bytes read as UTF-8 (RFC 6532). */
export function parseHeaders(block: Buffer): HeaderList {
  const out: HeaderList = [];
  for (const line of block.toString('utf8').split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length) out[out.length - 1]![1] += ` ${line.trim()}`;
    else {
      const colon = line.indexOf(':');
      if (colon > 0) out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
  }
  return out;
}

export function header(headers: HeaderList, name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find(([k]) => k.toLowerCase() === lower)?.[1];
}

/** `text/plain; charset="utf-8"; name*=utf-8''a%20b` → its value and its parameters (RFC 2045, RFC 2231). */
export function parseStructured(value: string | undefined): { value: string; params: Record<string, string> } {
  if (!value) return { value: '', params: {} };
  const semi = value.indexOf(';');
  const params: Record<string, string> = {};
  const continued: Record<string, string[]> = {};
  const re = /;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    const key = m[1]!.toLowerCase();
    let v = m[2]!.trim();
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    // RFC 2231: name*0*=..., name*1*=... pieces, and charset''percent-encoded values.
    const piece = /^([^*]+)\*(\d+)?(\*)?$/.exec(key);
    if (piece) {
      const list = (continued[piece[1]!] ??= []);
      list[Number(piece[2] ?? 0)] = piece[3] || piece[2] === undefined ? v : encodeURIComponent(v);
      continue;
    }
    if (Object.keys(params).length < 50) params[key] = v;
  }
  for (const [key, pieces] of Object.entries(continued)) {
    const joined = pieces.join('');
    const m = /^([^']*)'[^']*'(.*)$/.exec(joined);
    params[key] = percentDecode(m ? m[2]! : joined, m?.[1] || 'utf-8');
  }
  return { value: (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase(), params };
}

function percentDecode(text: string, charset: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = /^%([0-9a-fA-F]{2})/.exec(text.slice(i, i + 3));
    if (hex) {
      bytes.push(parseInt(hex[1]!, 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, 'utf8'));
  }
  return decodeCharset(Buffer.from(bytes), charset);
}

/** Bytes in a named charset; an unknown label reads as UTF-8 rather than failing. */
export function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset || 'utf-8').decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

/** RFC 2047 encoded words (`=?utf-8?B?...?=`, `=?iso-8859-1?Q?...?=`) in a header value. */
export function decodeWords(value: string): string {
  // Whitespace between two adjacent encoded words is not part of the text (RFC 2047 §6.2).
  return value
    .replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)/g, '$1')
    .replace(/=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g, (whole, charset: string, enc: string, text: string) => {
      const bytes = enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : qDecode(text.replace(/_/g, ' '));
      // The charset may carry a language (RFC 2231 §5): utf-8*en.
      return decodeCharset(bytes, charset.split('*')[0]) || whole;
    });
}

/** Quoted-printable (RFC 2045 §6.7): =XX escapes and soft line breaks. */
export function qDecode(text: string | Buffer): Buffer {
  const src = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c !== 0x3d /* = */) {
      out[n++] = c;
      continue;
    }
    const hex = src.toString('latin1', i + 1, i + 3);
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      out[n++] = parseInt(hex, 16);
      i += 2;
      continue;
    }
    // A soft break: '=' then optional spaces, then (CR)LF.
    let j = i + 1;
    while (src[j] === 0x20 || src[j] === 0x09) j++;
    if (src[j] === 0x0d && src[j + 1] === 0x0a) i = j + 1;
    else if (src[j] === 0x0a) i = j;
    else out[n++] = c;
  }
  return out.subarray(0, n);
}

function decodeBody(body: Buffer, encoding: string | undefined): Buffer {
  const e = (encoding ?? '').trim().toLowerCase();
  if (e === 'base64') return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (e === 'quoted-printable') return qDecode(body);
  return body;
}

/** The parts of a multipart body between its boundary lines (RFC 2046 §5.1.1). */
function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let start = -1;
  let at = 0;
  for (;;) {
    const i = body.indexOf(delimiter, at);
    if (i < 0) break;
    at = i + delimiter.length;
    // A boundary only counts at a line start.
    if (i > 0 && body[i - 1] !== 0x0a) continue;
    if (start >= 0) {
      // The line break before the boundary belongs to it.
      let end = i;
      if (body[end - 1] === 0x0a) end--;
      if (body[end - 1] === 0x0d) end--;
      parts.push(body.subarray(start, Math.max(start, end)));
    }
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts;
    const lf = body.indexOf(0x0a, at);
    if (lf < 0) return parts;
    start = lf + 1;
  }
  // No closing boundary: what came after the last one is still a part.
  if (start >= 0 && start < body.length) parts.push(body.subarray(start));
  return parts;
}

/** Reads a whole message: its top headers, its text and HTML, its attachments. */
export function readMessage(raw: Buffer): ReadMessage {
  return read(raw).message;
}

/** The decoded bytes of the n-th attachment, as `readMessage` numbers them. */
export function attachmentData(raw: Buffer, index: number): Buffer | undefined {
  return read(raw).data[index];
}

function read(raw: Buffer): { message: ReadMessage; data: Buffer[] } {
  const top = splitPart(raw);
  const message: ReadMessage = { headers: top.headers, text: null, html: null, attachments: [], unreadParts: 0 };
  const data: Buffer[] = [];
  let parts = 0;
  const walk = (part: Part, depth: number) => {
    if (++parts > MAX_PARTS || depth > MAX_DEPTH) {
      message.unreadParts++;
      return;
    }
    const type = parseStructured(header(part.headers, 'content-type') ?? 'text/plain');
    const mediaType = type.value || 'text/plain';
    const disposition = parseStructured(header(part.headers, 'content-disposition'));
    const boundary = type.params['boundary'];
    if (mediaType.startsWith('multipart/') && boundary) {
      for (const p of splitMultipart(part.body, boundary)) walk(splitPart(p), depth + 1);
      return;
    }
    const bytes = decodeBody(part.body, header(part.headers, 'content-transfer-encoding'));
    const name = disposition.params['filename'] ?? type.params['name'];
    const field = mediaType === 'text/html' ? 'html' : 'text';
    // The first text and HTML body parts are the message's text; any other part is an attachment.
    if (
      (mediaType === 'text/plain' || mediaType === 'text/html') &&
      disposition.value !== 'attachment' &&
      name === undefined &&
      message[field] === null
    ) {
      message[field] = decodeCharset(bytes, type.params['charset']);
      return;
    }
    const cid = header(part.headers, 'content-id');
    data.push(bytes);
    message.attachments.push({
      index: message.attachments.length,
      name: name === undefined ? null : decodeWords(name),
      type: mediaType,
      size: bytes.length,
      disposition: disposition.value === 'inline' ? 'inline' : 'attachment',
      contentId: cid === undefined ? null : cid.replace(/^<|>$/g, ''),
    });
  };
  walk(top, 0);
  return { message, data };
}
