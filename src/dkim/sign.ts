import { createHash, randomBytes, sign } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmtpkitError, usageError } from '../errors.js';
import type { OutgoingMessage } from '../message/build.js';
import { DataEncoder } from '../protocol/data-encoder.js';
import { BodyHasher, canonHeader, type Canon } from './canonicalize.js';
import { addressDomain, fieldValue, splitHeader, type HeaderField } from './fields.js';
import type { SigningKey } from './key.js';

export interface DkimSignOptions {
  key: SigningKey;
  selector: string;
  /** d=; the From: domain when not given. */
  domain: string | undefined;
  canon: { header: Canon; body: Canon };
  /** h= exactly as the user gave it; otherwise DEFAULT_HEADERS that are present, From once more. */
  headers: string[] | undefined;
}

/** RFC 6376 §5.4.1's recommended set; From is signed once more than it appears (oversigned) so none can be added. */
export const DEFAULT_HEADERS = [
  'From',
  'To',
  'Cc',
  'Subject',
  'Date',
  'Message-ID',
  'MIME-Version',
  'Content-Type',
  'Reply-To',
];
const MAX_HEADER = 1024 * 1024;
const SELECTOR =
  /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;

/** A selector as typed: one or more DNS labels, nothing that could leave the name. */
export function parseSelector(s: string): string {
  if (!SELECTOR.test(s))
    throw usageError(
      `--dkim-selector ${JSON.stringify(s)}: a selector is one or more DNS labels (letters, digits, "-", "_")`,
    );
  return s;
}

/** c=: "header/body"; one name alone means that for the header and simple for the body (RFC 6376 §3.5). */
export function parseCanon(text: string): { header: Canon; body: Canon } {
  const m = /^(simple|relaxed)(?:\/(simple|relaxed))?$/.exec(text.trim().toLowerCase());
  if (!m)
    throw usageError(
      `--dkim-canon ${JSON.stringify(text)}: give relaxed/relaxed, relaxed/simple, simple/relaxed or simple/simple`,
    );
  return { header: m[1] as Canon, body: (m[2] ?? 'simple') as Canon };
}

/**
 * Signs a message as a transform over its chunks: one pass hashes the body while it
 * streams (attachments are read, hashed and dropped), then the returned message yields the
 * DKIM-Signature field followed by the original chunks read again. What is hashed is what
 * goes on the wire: the same line-end normalisation as the DATA encoder.
 */
export async function dkimSign(m: OutgoingMessage, o: DkimSignOptions, now = new Date()): Promise<OutgoingMessage> {
  // A message of unknown size is a one-shot stream (standard input): it is spooled to a
  // private temporary file while it is hashed, and sent from there, never held in memory.
  const spool = m.size === undefined ? openSpool() : undefined;
  let hashed: { head: string; bodyHash: string };
  try {
    hashed = await hashMessage(m, o.canon.body, spool?.out);
    if (spool)
      await new Promise<void>((resolve, reject) =>
        spool.out.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
  } catch (err) {
    spool?.remove();
    throw err;
  }
  const { head, bodyHash } = hashed;
  const fields = splitHeader(head);
  const from = fields.filter((f) => f.name.toLowerCase() === 'from');
  if (from.length !== 1)
    throw usageError(
      `the message has ${from.length || 'no'} From: field${from.length > 1 ? 's' : ''}; DKIM signs exactly one (RFC 6376 §5.4)`,
    );
  const domain = o.domain ?? addressDomain(fieldValue(from[0]!));
  if (!domain) throw usageError('the From: address has no domain to sign for: give --dkim-domain');
  if (!/^[\x21-\x7e]+$/.test(domain))
    throw usageError(`the From: domain is not ASCII: give --dkim-domain as its A-label (xn--...)`);
  const names = o.headers ?? defaultHeaderList(fields);
  const tags = [
    `v=1; a=${o.key.algorithm}; c=${o.canon.header}/${o.canon.body}; d=${domain}; s=${o.selector};`,
    `t=${Math.floor(now.getTime() / 1000)}; h=${names.join(':')};`,
    `bh=${bodyHash};`,
    'b=',
  ];
  const unsigned = `DKIM-Signature: ${tags.join('\r\n\t')}`;
  const data = signingInput(fields, names, unsigned, o.canon.header);
  const signature =
    o.key.algorithm === 'ed25519-sha256'
      ? sign(null, createHash('sha256').update(data).digest(), o.key.key)
      : sign('sha256', data, o.key.key);
  const field = `${unsigned}${fold(signature.toString('base64'))}\r\n`;
  const bytes = Buffer.from(field);
  return {
    ...m,
    size: m.size === undefined ? undefined : m.size + bytes.length,
    headerLines: [
      ...field.split('\r\n').filter(Boolean),
      ...(spool ? head.split(/\r?\n/).filter(Boolean) : m.headerLines),
    ],
    async *chunks() {
      yield bytes;
      if (!spool) return yield* m.chunks();
      try {
        yield* createReadStream(spool.path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
      } finally {
        spool.remove();
      }
    },
  };
}

function openSpool(): { path: string; out: WriteStream; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-dkim-'));
  const path = join(dir, randomBytes(6).toString('hex'));
  return {
    path,
    out: createWriteStream(path, { mode: 0o600 }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function defaultHeaderList(fields: HeaderField[]): string[] {
  const names: string[] = [];
  for (const name of DEFAULT_HEADERS) {
    const count = fields.filter((f) => f.name.toLowerCase() === name.toLowerCase()).length;
    for (let i = 0; i < count + (name === 'From' ? 1 : 0); i++) names.push(name);
  }
  return names;
}

/**
 * RFC 6376 §5.4.2: each name in h= takes the last not-yet-used field of that name (a name
 * with no field left contributes nothing), then the DKIM-Signature itself with b= empty
 * and no final CRLF.
 */
export function signingInput(fields: HeaderField[], names: string[], signatureField: string, canon: Canon): Buffer {
  const used = new Map<string, number>();
  const parts: string[] = [];
  for (const name of names) {
    const lower = name.toLowerCase();
    const all = fields.filter((f) => f.name.toLowerCase() === lower);
    const n = used.get(lower) ?? 0;
    used.set(lower, n + 1);
    const f = all[all.length - 1 - n];
    if (f) parts.push(canonHeader(f.raw, canon));
  }
  parts.push(canonHeader(signatureField, canon).replace(/\r\n$/, ''));
  // Header text is carried as latin1 so every byte round-trips unchanged, whatever the charset.
  return Buffer.from(parts.join(''), 'latin1');
}

const fold = (b64: string) => (b64.match(/.{1,72}/g) ?? []).join('\r\n\t');

/** Reads the message once: the header block (bounded) as text, the body into the hash. */
async function hashMessage(
  m: OutgoingMessage,
  canon: Canon,
  copy?: WriteStream,
): Promise<{ head: string; bodyHash: string }> {
  const encoder = new DataEncoder(false);
  const hasher = new BodyHasher(canon);
  let head: Buffer | undefined = Buffer.alloc(0);
  let headText = '';
  const take = (chunk: Buffer) => {
    if (!head) return hasher.update(chunk);
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end >= 0) {
      headText = head.subarray(0, end).toString('latin1');
      const rest = head.subarray(end + 4);
      head = undefined;
      hasher.update(rest);
    } else if (head.length > MAX_HEADER)
      throw new SmtpkitError('usage', 'the message header is over 1 MiB: not signing it');
  };
  for await (const chunk of m.chunks()) {
    // The copy keeps the original bytes (the sender's encoder runs again on them); waiting on drain bounds memory.
    if (copy && !copy.write(chunk)) await new Promise<void>((resolve) => copy.once('drain', () => resolve()));
    take(encoder.push(chunk));
  }
  take(encoder.end());
  if (head) headText = head.toString('latin1').replace(/\r\n$/, '');
  return { head: headText, bodyHash: hasher.digest() };
}
