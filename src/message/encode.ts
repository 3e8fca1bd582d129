import { randomBytes } from 'node:crypto';

/** Small RFC 2045/2047/5322 helpers for building messages. */

export const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s);

/** Longest line, in bytes, ignoring line ends. RFC 5321 §4.5.3.1.6 allows 998. */
export function longestLine(text: string): number {
  return Math.max(0, ...text.split(/\r?\n/).map((l) => Buffer.byteLength(l)));
}

/** A header value, as an RFC 2047 encoded-word sequence when it is not plain ASCII. */
export function headerText(value: string): string {
  if (isAscii(value)) return value;
  const words: string[] = [];
  let current = '';
  for (const ch of value) {
    // 45 bytes of UTF-8 become 60 of base64: each word stays under RFC 2047's 75 characters.
    if (Buffer.byteLength(current + ch) > 45) {
      words.push(current);
      current = '';
    }
    current += ch;
  }
  if (current) words.push(current);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join('\r\n ');
}

/** Quoted-printable (RFC 2045 §6.7) with CRLF line ends and 76-character soft-wrapped lines. */
export function quotedPrintable(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => {
      let encoded = '';
      const bytes = Buffer.from(line);
      bytes.forEach((b, i) => {
        const last = i === bytes.length - 1;
        const plain = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
        encoded += plain ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
      });
      const wrapped: string[] = [];
      while (encoded.length > 76) {
        let cut = 75;
        // Never split an =XX escape.
        const eq = encoded.lastIndexOf('=', cut);
        if (eq > cut - 3) cut = eq;
        wrapped.push(`${encoded.slice(0, cut)}=`);
        encoded = encoded.slice(cut);
      }
      wrapped.push(encoded);
      return wrapped.join('\r\n');
    })
    .join('\r\n');
}

/** Base64 in 76-character lines with CRLF (RFC 2045 §6.8); input should be a multiple of 57 bytes except at the end. */
export function base64Lines(data: Buffer): string {
  const out: string[] = [];
  for (let i = 0; i < data.length; i += 57) out.push(data.subarray(i, i + 57).toString('base64'));
  return out.length ? `${out.join('\r\n')}\r\n` : '';
}

/** The exact size base64Lines gives for n bytes: lets SIZE= be declared before a file is read. */
export function base64LinesSize(n: number): number {
  const full = Math.floor(n / 57);
  const rest = n % 57;
  return full * 78 + (rest ? Math.ceil(rest / 3) * 4 + 2 : 0);
}

/** RFC 5322 §3.3 date: "Sat, 28 Nov 2026 17:30:00 +0000". */
export function rfc5322Date(d = new Date()): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getDay()]}, ${d.getDate()} ${months[d.getMonth()]} ${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

export function messageId(domain: string): string {
  return `<${Date.now().toString(36)}.${randomBytes(8).toString('hex')}@${domain || 'smtpkit.invalid'}>`;
}

export function boundary(): string {
  return `smtpkit-${randomBytes(12).toString('hex')}`;
}

const TYPES: Record<string, string> = {
  txt: 'text/plain',
  text: 'text/plain',
  log: 'text/plain',
  csv: 'text/csv',
  html: 'text/html',
  htm: 'text/html',
  xml: 'application/xml',
  json: 'application/json',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  webp: 'image/webp',
  ics: 'text/calendar',
  eml: 'message/rfc822',
  doc: 'application/msword',
  xls: 'application/vnd.ms-excel',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
};

export function contentType(fileName: string): string {
  const ext = /\.([^./]+)$/.exec(fileName)?.[1]?.toLowerCase() ?? '';
  return TYPES[ext] ?? 'application/octet-stream';
}

/** A filename parameter: quoted when ASCII, RFC 2231 encoded otherwise. */
export function filenameParam(name: string): string {
  if (isAscii(name) && !/["\\\r\n]/.test(name)) return `filename="${name}"`;
  return `filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}
