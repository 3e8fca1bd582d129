import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { SmtpkitError } from '../errors.js';
import type { KeyLookup } from './key-lookup.js';
import { BodyHasher, type Canon } from './canonicalize.js';
import {
  addressDomain,
  compact,
  fieldValue,
  headerText,
  parseTagList,
  splitHeader,
  withoutSignatureValue,
  type HeaderField,
  type TagList,
} from './fields.js';
import { parseKeyRecord, type KeyRecord } from './key.js';
import { signingInput } from './sign.js';

/** Why a signature passed or failed: one word for programs, an explanation for people. */
export type DkimReason =
  | 'pass'
  | 'body-hash-mismatch'
  | 'signature-mismatch'
  | 'key-not-found'
  | 'key-revoked'
  | 'key-syntax'
  | 'key-mismatch'
  | 'expired'
  | 'weak-algorithm'
  | 'weak-key'
  | 'syntax'
  | 'unsupported'
  | 'dns-failure';

export interface SignatureResult {
  /** 1-based, top to bottom. */
  index: number;
  result: 'pass' | 'fail' | 'permerror' | 'temperror';
  reason: DkimReason;
  explanation: string;
  domain: string | undefined;
  selector: string | undefined;
  algorithm: string | undefined;
  canonicalization: string | undefined;
  signedHeaders: string[];
  keyBits: number | undefined;
  /** l=: how much of the body the signature covers, and how long the body is. */
  bodyLength: { signed: number; total: number } | undefined;
  /** Testing mode, small keys, l=, anything worth knowing even on a pass. */
  notes: string[];
}

const MAX_HEADER = 1024 * 1024;
const MAX_SIGNATURES = 20;

export interface Pending {
  result: SignatureResult;
  tags: TagList;
  field: HeaderField;
  hasher: BodyHasher | undefined;
  names: string[];
  canon: { header: Canon; body: Canon };
  kind: 'dkim' | 'ams';
}

/** What a body consumer does with the body's chunks once the header is known. */
export interface BodyConsumer {
  update(chunk: Buffer): void;
}

/**
 * Reads a message from a stream: the header (at most 1 MiB) into fields, then each body
 * chunk to the consumer `onHeader` made for those fields, so a message of any size is
 * checked in constant memory.
 */
export async function readMessage(
  input: AsyncIterable<Buffer>,
  onHeader: (fields: HeaderField[]) => BodyConsumer,
): Promise<HeaderField[]> {
  let head: Buffer | undefined = Buffer.alloc(0);
  let fields: HeaderField[] = [];
  let consumer: BodyConsumer | undefined;
  const startBody = (headerBytes: Buffer, rest: Buffer) => {
    // latin1: every header byte round-trips into the signed data unchanged.
    fields = splitHeader(headerBytes.toString('latin1'));
    consumer = onHeader(fields);
    consumer.update(rest);
  };
  for await (const chunk of input) {
    if (!head) {
      consumer!.update(chunk);
      continue;
    }
    head = Buffer.concat([head, chunk]);
    const m = /\r?\n\r?\n/.exec(head.toString('latin1'));
    if (m) {
      const h = head;
      head = undefined;
      startBody(h.subarray(0, m.index), h.subarray(m.index + m[0].length));
    } else if (head.length > MAX_HEADER)
      throw new SmtpkitError('usage', 'the message header is over 1 MiB: is this a message?');
  }
  if (head) startBody(head, Buffer.alloc(0));
  return fields;
}

/** The domain of the message's one From: address; undefined when there is not exactly one. */
export function fromDomainOf(fields: HeaderField[]): string | undefined {
  const from = fields.filter((f) => f.name.toLowerCase() === 'from');
  // Decoded before addressDomain lower-cases it: lower-casing latin1 chars would change the bytes.
  return from.length === 1 ? addressDomain(headerText(fieldValue(from[0]!))) : undefined;
}

/**
 * Every DKIM-Signature of a header, prepared: the body goes to `update`, then `finish`
 * fetches the keys and checks the signatures (RFC 6376 §6).
 */
export function dkimSignatures(
  fields: HeaderField[],
  now = new Date(),
): BodyConsumer & { finish(resolver: KeyLookup): Promise<SignatureResult[]> } {
  const pending = fields
    .filter((f) => f.name.toLowerCase() === 'dkim-signature')
    .slice(0, MAX_SIGNATURES)
    .map((f, i) => prepare(f, i + 1, fields, now));
  return signatureSet(pending, fields);
}

/** Pending signatures as one body consumer. */
export function signatureSet(
  pending: Pending[],
  fields: HeaderField[],
): BodyConsumer & { finish(resolver: KeyLookup): Promise<SignatureResult[]> } {
  return {
    update: (chunk) => {
      for (const p of pending) p.hasher?.update(chunk);
    },
    finish: async (resolver) => {
      const results: SignatureResult[] = [];
      for (const p of pending) results.push(await finish(p, fields, resolver));
      return results;
    },
  };
}

/** Verifies every DKIM-Signature of a message read from a stream; keys come from `resolver`. */
export async function verifyMessage(
  input: AsyncIterable<Buffer>,
  resolver: KeyLookup,
  now = new Date(),
): Promise<{ fromDomain: string | undefined; signatures: SignatureResult[] }> {
  let set: ReturnType<typeof dkimSignatures> | undefined;
  const fields = await readMessage(input, (f) => (set = dkimSignatures(f, now)));
  return { fromDomain: fromDomainOf(fields), signatures: await set!.finish(resolver) };
}

const ALGORITHMS = ['rsa-sha256', 'ed25519-sha256', 'rsa-sha1'];

/**
 * One signature's tags checked before the body is read. `ams`: an ARC-Message-Signature,
 * which is a DKIM-Signature with no v= and i= the ARC instance (RFC 8617 §4.1.2).
 */
export function prepare(
  field: HeaderField,
  index: number,
  fields: HeaderField[],
  now: Date,
  kind: 'dkim' | 'ams' = 'dkim',
): Pending {
  const { tags, errors } = parseTagList(headerText(fieldValue(field)));
  const result: SignatureResult = {
    index,
    result: 'permerror',
    reason: 'syntax',
    explanation: '',
    domain: tags.get('d')?.toLowerCase(),
    selector: tags.get('s'),
    algorithm: tags.get('a'),
    canonicalization: tags.get('c') ?? 'simple/simple',
    signedHeaders: (tags.get('h') ?? '')
      .split(':')
      .map((h) => h.trim())
      .filter(Boolean),
    keyBits: undefined,
    bodyLength: undefined,
    notes: [],
  };
  const p: Pending = {
    result,
    tags,
    field,
    hasher: undefined,
    names: result.signedHeaders,
    canon: { header: 'simple', body: 'simple' },
    kind,
  };
  const bad = (reason: DkimReason, explanation: string) => {
    result.reason = reason;
    result.explanation = explanation;
    return p;
  };
  if (errors.length) return bad('syntax', `the signature does not parse: ${errors.join('; ')} (RFC 6376 §3.2)`);
  if (kind === 'dkim' && tags.get('v') !== '1')
    return bad('syntax', `v=${tags.get('v') ?? '(missing)'}: only v=1 exists (RFC 6376 §3.5)`);
  for (const t of ['a', 'b', 'bh', 'd', 'h', 's', ...(kind === 'ams' ? ['i'] : [])])
    if (!tags.get(t))
      return bad(
        'syntax',
        `the required tag ${t}= is missing or empty (${kind === 'ams' ? 'RFC 8617 §4.1.2' : 'RFC 6376 §3.5'})`,
      );
  if (kind === 'ams' && result.signedHeaders.some((h) => /^arc-/i.test(h)))
    return bad(
      'syntax',
      'h= lists an ARC header field: RFC 8617 §4.1.2 forbids signing them in an ARC-Message-Signature',
    );
  const a = tags.get('a')!.toLowerCase();
  if (!ALGORITHMS.includes(a))
    return bad('unsupported', `a=${a}: unknown signing algorithm (rsa-sha256 or ed25519-sha256)`);
  const c = /^(simple|relaxed)(?:\/(simple|relaxed))?$/.exec((tags.get('c') ?? 'simple').toLowerCase());
  if (!c) return bad('syntax', `c=${tags.get('c')}: unknown canonicalization`);
  p.canon = { header: c[1] as Canon, body: (c[2] ?? 'simple') as Canon };
  if (!result.signedHeaders.some((h) => h.toLowerCase() === 'from'))
    return bad('syntax', 'h= does not include From: RFC 6376 §5.4 requires From to be signed');
  const q = tags.get('q');
  if (q !== undefined && !q.split(':').some((m) => m.trim().toLowerCase() === 'dns/txt'))
    return bad('unsupported', `q=${q}: only dns/txt key retrieval exists`);
  const l = tags.get('l');
  if (l !== undefined && !/^\d{1,76}$/.test(l)) return bad('syntax', `l=${l} is not a number`);
  const i = tags.get('i');
  const d = result.domain!;
  if (i !== undefined && kind === 'dkim') {
    const iDomain = i.slice(i.lastIndexOf('@') + 1).toLowerCase();
    if (!i.includes('@') || (iDomain !== d && !iDomain.endsWith(`.${d}`)))
      return bad('syntax', `i=${i} is not in the signing domain d=${d} or a subdomain of it (RFC 6376 §3.5)`);
  }
  for (const t of ['t', 'x'])
    if (tags.has(t) && !/^\d{1,12}$/.test(tags.get(t)!))
      return bad('syntax', `${t}=${tags.get(t)} is not a time in seconds`);
  const x = tags.has('x') ? Number(tags.get('x')) : undefined;
  const ts = tags.has('t') ? Number(tags.get('t')) : undefined;
  if (x !== undefined && ts !== undefined && x < ts)
    return bad('syntax', `x= (${x}) is before t= (${ts}) (RFC 6376 §3.5)`);
  if (x !== undefined && x < Math.floor(now.getTime() / 1000)) {
    result.result = 'fail';
    return bad(
      'expired',
      `the signature expired at ${new Date(x * 1000).toISOString()} (x=): verifiers ignore it (RFC 6376 §3.5)`,
    );
  }
  if (ts !== undefined && ts > Math.floor(now.getTime() / 1000) + 300)
    result.notes.push(`t= is in the future (${new Date(ts * 1000).toISOString()}): the signer's clock is off`);
  if (fields.filter((f) => f.name.toLowerCase() === 'from').length !== 1)
    return bad('syntax', 'the message does not have exactly one From: field (RFC 5322 §3.6)');
  p.hasher = new BodyHasher(
    p.canon.body,
    a === 'rsa-sha1' ? 'sha1' : 'sha256',
    l === undefined ? undefined : Number(l),
  );
  result.explanation = '';
  return p;
}

async function finish(p: Pending, fields: HeaderField[], resolver: KeyLookup): Promise<SignatureResult> {
  const r = p.result;
  const done = (result: SignatureResult['result'], reason: DkimReason, explanation: string) =>
    Object.assign(r, { result, reason, explanation });
  if (!p.hasher) return r;
  const bh = p.hasher.digest();
  const l = p.tags.get('l');
  if (l !== undefined) {
    r.bodyLength = { signed: Math.min(Number(l), p.hasher.length), total: p.hasher.length };
    if (Number(l) < p.hasher.length)
      r.notes.push(
        `l=${l}: only the first ${l} of ${p.hasher.length} body bytes are signed; anything after them (${p.hasher.length - Number(l)} bytes here) could have been added by anyone (RFC 6376 §8.2)`,
      );
    if (Number(l) > p.hasher.length)
      return done(
        'fail',
        'body-hash-mismatch',
        `l=${l} but the body is only ${p.hasher.length} bytes: it was shortened in transit`,
      );
  }
  const a = r.algorithm!.toLowerCase();
  const fetched = await fetchKey(resolver, r.selector!, r.domain!, a, p.kind === 'dkim' ? p.tags.get('i') : undefined);
  r.keyBits = fetched.keyBits;
  r.notes.push(...fetched.notes);
  if (!('key' in fetched)) return done(fetched.result, fetched.reason, fetched.explanation);
  const { key, name, keyAlg } = fetched;
  if (bh !== compact(p.tags.get('bh')!))
    return done(
      'fail',
      'body-hash-mismatch',
      'body hash mismatch: the body changed after signing (a footer or disclaimer added, a re-encoding, changed line ends or whitespace)',
    );
  const data = signingInput(fields, p.names, withoutSignatureValue(p.field.raw), p.canon.header);
  if (!signatureValid(data, p.tags.get('b')!, fetched))
    return done(
      'fail',
      'signature-mismatch',
      `signature mismatch: the body is intact but a signed header field (${p.names.join(', ')}) changed after signing, or the key at ${name} is not the one that signed`,
    );
  if (a === 'rsa-sha1')
    return done(
      'fail',
      'weak-algorithm',
      'the signature is valid but uses rsa-sha1: RFC 8301 §3.1 says verifiers must not accept it',
    );
  return done('pass', 'pass', `valid signature by ${r.domain} (key ${name}${describeKey(key, keyAlg)})`);
}

export const describeKey = (key: KeyRecord, keyAlg: string) =>
  key.bits ? `, ${keyAlg === 'rsa' ? `${key.bits}-bit RSA` : 'Ed25519'}` : '';

export type FetchedKey =
  | {
      key: KeyRecord & { key: KeyObject };
      name: string;
      keyAlg: 'rsa' | 'ed25519';
      hash: 'sha1' | 'sha256';
      keyBits: number | undefined;
      notes: string[];
    }
  | {
      result: 'permerror' | 'temperror';
      reason: DkimReason;
      explanation: string;
      keyBits: number | undefined;
      notes: string[];
    };

/**
 * The public key at selector._domainkey.domain, judged for algorithm `a` (RFC 6376 §3.6.1,
 * RFC 8301, RFC 8463): shared by DKIM signatures, ARC-Message-Signatures and ARC-Seals.
 * `i` is a DKIM signature's i= (a key with t=s binds it to d= itself).
 */
export async function fetchKey(
  resolver: KeyLookup,
  selector: string,
  domain: string,
  a: string,
  i?: string,
): Promise<FetchedKey> {
  const notes: string[] = [];
  const name = `${selector}._domainkey.${domain}`;
  const fail = (result: 'permerror' | 'temperror', reason: DkimReason, explanation: string, keyBits?: number) => ({
    result,
    reason,
    explanation,
    keyBits,
    notes,
  });
  let records: string[];
  try {
    records = (await resolver.txt(name)).records;
  } catch (err) {
    return fail('temperror', 'dns-failure', `the key at ${name} could not be fetched: ${(err as Error).message}`);
  }
  if (!records.length)
    return fail('permerror', 'key-not-found', `no key at ${name} (TXT): the selector is wrong or the key was removed`);
  const key: KeyRecord = parseKeyRecord(records[0]!);
  if (records.length > 1)
    notes.push(`${records.length} TXT records at ${name}: the first is used, results differ between verifiers`);
  if (key.revoked)
    return fail(
      'permerror',
      'key-revoked',
      `the key at ${name} is revoked (empty p=): the signer withdrew it (RFC 6376 §3.6.1)`,
      key.bits,
    );
  if (key.errors.length || !key.key)
    return fail('permerror', 'key-syntax', `the key record at ${name} is unusable: ${key.errors.join('; ')}`, key.bits);
  if (key.testing)
    notes.push('the key is in testing mode (t=y): receivers must not treat a failure differently from no signature');
  const keyAlg = a.startsWith('ed25519') ? 'ed25519' : 'rsa';
  if (key.keyType !== keyAlg)
    return fail('permerror', 'key-mismatch', `a=${a} but the key at ${name} is k=${key.keyType}`, key.bits);
  const hash = a.endsWith('sha1') ? 'sha1' : 'sha256';
  if (key.hashes && !key.hashes.includes(hash))
    return fail(
      'permerror',
      'key-mismatch',
      `the key at ${name} allows only h=${key.hashes.join(':')}, not ${hash}`,
      key.bits,
    );
  if (key.services && !key.services.some((s) => s === '*' || s === 'email'))
    return fail(
      'permerror',
      'key-mismatch',
      `the key at ${name} is not for email (s=${key.services.join(':')})`,
      key.bits,
    );
  if (key.strict && i !== undefined && i.slice(i.lastIndexOf('@') + 1).toLowerCase() !== domain)
    return fail(
      'permerror',
      'key-mismatch',
      `the key has t=s: i= must be in d=${domain} itself, not a subdomain`,
      key.bits,
    );
  if (keyAlg === 'rsa' && (key.bits ?? 0) < 1024)
    return fail(
      'permerror',
      'weak-key',
      `the key has ${key.bits} bits: RFC 8301 §3.2 says verifiers must not accept RSA keys under 1024 bits`,
      key.bits,
    );
  if (keyAlg === 'rsa' && (key.bits ?? 0) < 2048)
    notes.push(`the key has ${key.bits} bits: RFC 8301 §3.2 asks signers for at least 2048`);
  return { key: key as KeyRecord & { key: KeyObject }, name, keyAlg, hash, keyBits: key.bits, notes };
}

/** A signature over `data` checked with the key (Ed25519 signs the SHA-256 of the data, RFC 8463 §3). */
export function signatureValid(data: Buffer, b: string, k: Extract<FetchedKey, { key: unknown }>): boolean {
  try {
    const sig = Buffer.from(compact(b), 'base64');
    return k.keyAlg === 'ed25519'
      ? cryptoVerify(null, createHash('sha256').update(data).digest(), k.key.key, sig)
      : cryptoVerify(k.hash, data, k.key.key, sig);
  } catch {
    return false;
  }
}
