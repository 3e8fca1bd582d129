import { createHash, verify as cryptoVerify } from 'node:crypto';
import { SmtpkitError } from '../errors.js';
import type { KeyLookup } from './key-lookup.js';
import { BodyHasher, type Canon } from './canonicalize.js';
import { addressDomain, compact, fieldValue, headerText, parseTagList, splitHeader, withoutSignatureValue, type HeaderField, type TagList } from './fields.js';
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

interface Pending {
  result: SignatureResult;
  tags: TagList;
  field: HeaderField;
  hasher: BodyHasher | undefined;
  names: string[];
  canon: { header: Canon; body: Canon };
}

/**
 * Verifies every DKIM-Signature of a message read from a stream (RFC 6376 §6): the header
 * is read (at most 1 MiB), then the body streams through one hasher per signature, so a
 * message of any size is checked in constant memory. Keys come from `resolver`.
 */
export async function verifyMessage(input: AsyncIterable<Buffer>, resolver: KeyLookup, now = new Date()): Promise<{ fromDomain: string | undefined; signatures: SignatureResult[] }> {
  let head: Buffer | undefined = Buffer.alloc(0);
  let fields: HeaderField[] = [];
  let pending: Pending[] = [];
  const body = (chunk: Buffer) => {
    for (const p of pending) p.hasher?.update(chunk);
  };
  const startBody = (headerBytes: Buffer, rest: Buffer) => {
    // latin1: every header byte round-trips into the signed data unchanged.
    fields = splitHeader(headerBytes.toString('latin1'));
    pending = fields
      .filter((f) => f.name.toLowerCase() === 'dkim-signature')
      .slice(0, MAX_SIGNATURES)
      .map((f, i) => prepare(f, i + 1, fields, now));
    body(rest);
  };
  for await (const chunk of input) {
    if (!head) {
      body(chunk);
      continue;
    }
    head = Buffer.concat([head, chunk]);
    const m = /\r?\n\r?\n/.exec(head.toString('latin1'));
    if (m) {
      const h = head;
      head = undefined;
      startBody(h.subarray(0, m.index), h.subarray(m.index + m[0].length));
    } else if (head.length > MAX_HEADER) throw new SmtpkitError('usage', 'the message header is over 1 MiB: is this a message?');
  }
  if (head) startBody(head, Buffer.alloc(0));
  const from = fields.filter((f) => f.name.toLowerCase() === 'from');
  // Decoded before addressDomain lower-cases it: lower-casing latin1 chars would change the bytes.
  const fromDomain = from.length === 1 ? addressDomain(headerText(fieldValue(from[0]!))) : undefined;
  const results: SignatureResult[] = [];
  for (const p of pending) results.push(await finish(p, fields, resolver));
  return { fromDomain, signatures: results };
}

const ALGORITHMS = ['rsa-sha256', 'ed25519-sha256', 'rsa-sha1'];

function prepare(field: HeaderField, index: number, fields: HeaderField[], now: Date): Pending {
  const { tags, errors } = parseTagList(headerText(fieldValue(field)));
  const result: SignatureResult = { index, result: 'permerror', reason: 'syntax', explanation: '', domain: tags.get('d')?.toLowerCase(), selector: tags.get('s'), algorithm: tags.get('a'), canonicalization: tags.get('c') ?? 'simple/simple', signedHeaders: (tags.get('h') ?? '').split(':').map((h) => h.trim()).filter(Boolean), keyBits: undefined, bodyLength: undefined, notes: [] };
  const p: Pending = { result, tags, field, hasher: undefined, names: result.signedHeaders, canon: { header: 'simple', body: 'simple' } };
  const bad = (reason: DkimReason, explanation: string) => {
    result.reason = reason;
    result.explanation = explanation;
    return p;
  };
  if (errors.length) return bad('syntax', `the signature does not parse: ${errors.join('; ')} (RFC 6376 §3.2)`);
  if (tags.get('v') !== '1') return bad('syntax', `v=${tags.get('v') ?? '(missing)'}: only v=1 exists (RFC 6376 §3.5)`);
  for (const t of ['a', 'b', 'bh', 'd', 'h', 's']) if (!tags.get(t)) return bad('syntax', `the required tag ${t}= is missing or empty (RFC 6376 §3.5)`);
  const a = tags.get('a')!.toLowerCase();
  if (!ALGORITHMS.includes(a)) return bad('unsupported', `a=${a}: unknown signing algorithm (rsa-sha256 or ed25519-sha256)`);
  const c = /^(simple|relaxed)(?:\/(simple|relaxed))?$/.exec((tags.get('c') ?? 'simple').toLowerCase());
  if (!c) return bad('syntax', `c=${tags.get('c')}: unknown canonicalization`);
  p.canon = { header: c[1] as Canon, body: (c[2] ?? 'simple') as Canon };
  if (!result.signedHeaders.some((h) => h.toLowerCase() === 'from')) return bad('syntax', 'h= does not include From: RFC 6376 §5.4 requires From to be signed');
  const q = tags.get('q');
  if (q !== undefined && !q.split(':').some((m) => m.trim().toLowerCase() === 'dns/txt')) return bad('unsupported', `q=${q}: only dns/txt key retrieval exists`);
  const l = tags.get('l');
  if (l !== undefined && !/^\d{1,76}$/.test(l)) return bad('syntax', `l=${l} is not a number`);
  const i = tags.get('i');
  const d = result.domain!;
  if (i !== undefined) {
    const iDomain = i.slice(i.lastIndexOf('@') + 1).toLowerCase();
    if (!i.includes('@') || (iDomain !== d && !iDomain.endsWith(`.${d}`))) return bad('syntax', `i=${i} is not in the signing domain d=${d} or a subdomain of it (RFC 6376 §3.5)`);
  }
  for (const t of ['t', 'x']) if (tags.has(t) && !/^\d{1,12}$/.test(tags.get(t)!)) return bad('syntax', `${t}=${tags.get(t)} is not a time in seconds`);
  const x = tags.has('x') ? Number(tags.get('x')) : undefined;
  const ts = tags.has('t') ? Number(tags.get('t')) : undefined;
  if (x !== undefined && ts !== undefined && x < ts) return bad('syntax', `x= (${x}) is before t= (${ts}) (RFC 6376 §3.5)`);
  if (x !== undefined && x < Math.floor(now.getTime() / 1000)) {
    result.result = 'fail';
    return bad('expired', `the signature expired at ${new Date(x * 1000).toISOString()} (x=): verifiers ignore it (RFC 6376 §3.5)`);
  }
  if (ts !== undefined && ts > Math.floor(now.getTime() / 1000) + 300) result.notes.push(`t= is in the future (${new Date(ts * 1000).toISOString()}): the signer's clock is off`);
  if (fields.filter((f) => f.name.toLowerCase() === 'from').length !== 1) return bad('syntax', 'the message does not have exactly one From: field (RFC 5322 §3.6)');
  p.hasher = new BodyHasher(p.canon.body, a === 'rsa-sha1' ? 'sha1' : 'sha256', l === undefined ? undefined : Number(l));
  result.explanation = '';
  return p;
}

async function finish(p: Pending, fields: HeaderField[], resolver: KeyLookup): Promise<SignatureResult> {
  const r = p.result;
  const done = (result: SignatureResult['result'], reason: DkimReason, explanation: string) => Object.assign(r, { result, reason, explanation });
  if (!p.hasher) return r;
  const bh = p.hasher.digest();
  const l = p.tags.get('l');
  if (l !== undefined) {
    r.bodyLength = { signed: Math.min(Number(l), p.hasher.length), total: p.hasher.length };
    if (Number(l) < p.hasher.length) r.notes.push(`l=${l}: only the first ${l} of ${p.hasher.length} body bytes are signed; anything after them (${p.hasher.length - Number(l)} bytes here) could have been added by anyone (RFC 6376 §8.2)`);
    if (Number(l) > p.hasher.length) return done('fail', 'body-hash-mismatch', `l=${l} but the body is only ${p.hasher.length} bytes: it was shortened in transit`);
  }
  const a = r.algorithm!.toLowerCase();
  const name = `${r.selector}._domainkey.${r.domain}`;
  let records: string[];
  try {
    records = (await resolver.txt(name)).records;
  } catch (err) {
    return done('temperror', 'dns-failure', `the key at ${name} could not be fetched: ${(err as Error).message}`);
  }
  if (!records.length) return done('permerror', 'key-not-found', `no key at ${name} (TXT): the selector is wrong or the key was removed`);
  const key: KeyRecord = parseKeyRecord(records[0]!);
  if (records.length > 1) r.notes.push(`${records.length} TXT records at ${name}: the first is used, results differ between verifiers`);
  r.keyBits = key.bits;
  if (key.revoked) return done('permerror', 'key-revoked', `the key at ${name} is revoked (empty p=): the signer withdrew it (RFC 6376 §3.6.1)`);
  if (key.errors.length || !key.key) return done('permerror', 'key-syntax', `the key record at ${name} is unusable: ${key.errors.join('; ')}`);
  if (key.testing) r.notes.push('the key is in testing mode (t=y): receivers must not treat a failure differently from no signature');
  const keyAlg = a.startsWith('ed25519') ? 'ed25519' : 'rsa';
  if (key.keyType !== keyAlg) return done('permerror', 'key-mismatch', `a=${a} but the key at ${name} is k=${key.keyType}`);
  const hash = a.endsWith('sha1') ? 'sha1' : 'sha256';
  if (key.hashes && !key.hashes.includes(hash)) return done('permerror', 'key-mismatch', `the key at ${name} allows only h=${key.hashes.join(':')}, not ${hash}`);
  if (key.services && !key.services.some((s) => s === '*' || s === 'email')) return done('permerror', 'key-mismatch', `the key at ${name} is not for email (s=${key.services.join(':')})`);
  const i = p.tags.get('i');
  if (key.strict && i !== undefined && i.slice(i.lastIndexOf('@') + 1).toLowerCase() !== r.domain) return done('permerror', 'key-mismatch', `the key has t=s: i= must be in d=${r.domain} itself, not a subdomain`);
  if (keyAlg === 'rsa' && (key.bits ?? 0) < 1024) return done('permerror', 'weak-key', `the key has ${key.bits} bits: RFC 8301 §3.2 says verifiers must not accept RSA keys under 1024 bits`);
  if (keyAlg === 'rsa' && (key.bits ?? 0) < 2048) r.notes.push(`the key has ${key.bits} bits: RFC 8301 §3.2 asks signers for at least 2048`);
  if (bh !== compact(p.tags.get('bh')!)) return done('fail', 'body-hash-mismatch', 'body hash mismatch: the body changed after signing (a footer or disclaimer added, a re-encoding, changed line ends or whitespace)');
  const data = signingInput(fields, p.names, withoutSignatureValue(p.field.raw), p.canon.header);
  let ok: boolean;
  try {
    const sig = Buffer.from(compact(p.tags.get('b')!), 'base64');
    ok = keyAlg === 'ed25519' ? cryptoVerify(null, createHash('sha256').update(data).digest(), key.key, sig) : cryptoVerify(hash, data, key.key, sig);
  } catch {
    ok = false;
  }
  if (!ok) return done('fail', 'signature-mismatch', `signature mismatch: the body is intact but a signed header field (${p.names.join(', ')}) changed after signing, or the key at ${name} is not the one that signed`);
  if (a === 'rsa-sha1') return done('fail', 'weak-algorithm', 'the signature is valid but uses rsa-sha1: RFC 8301 §3.1 says verifiers must not accept it');
  return done('pass', 'pass', `valid signature by ${r.domain} (key ${name}${key.bits ? `, ${keyAlg === 'rsa' ? `${key.bits}-bit RSA` : 'Ed25519'}` : ''})`);
}
