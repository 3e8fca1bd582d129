import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { usageError } from '../errors.js';
import { compact, parseTagList } from './fields.js';

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

export interface SigningKey {
  key: KeyObject;
  algorithm: DkimAlgorithm;
  /** RSA modulus bits; 256 for Ed25519. */
  bits: number;
  /** Said to the user before sending (RSA under 2048 bits). */
  warning: string | undefined;
}

/**
 * The private key from PEM text read from `path`; the algorithm follows from it (RFC 8301
 * sizes, RFC 8463 Ed25519). `what` names the key's source in errors (the option that gave it).
 */
export function loadSigningKey(pem: string, path: string, what = 'the DKIM key'): SigningKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw usageError(
      `${what}: ${path} is not a PEM private key (make one with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048, or -algorithm ed25519)`,
    );
  }
  if (key.asymmetricKeyType === 'ed25519') return { key, algorithm: 'ed25519-sha256', bits: 256, warning: undefined };
  if (key.asymmetricKeyType !== 'rsa')
    throw usageError(
      `${what}: a ${key.asymmetricKeyType} key cannot sign DKIM; use RSA (rsa-sha256) or Ed25519 (ed25519-sha256, RFC 8463)`,
    );
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 1024)
    throw usageError(
      `${what}: the RSA key has ${bits} bits; RFC 8301 §3.2 forbids keys under 1024 bits (verifiers reject them): use 2048`,
    );
  const warning =
    bits < 2048
      ? `the DKIM key has ${bits} bits: RFC 8301 §3.2 asks for at least 2048 (1024 is the bare minimum and some receivers distrust it)`
      : undefined;
  return { key, algorithm: 'rsa-sha256', bits, warning };
}

/** The DNS record for a private key (what to publish at selector._domainkey.domain). */
export function publicRecord(k: SigningKey): string {
  const spki = createPublicKey(k.key).export({ type: 'spki', format: 'der' });
  return k.algorithm === 'ed25519-sha256'
    ? `v=DKIM1; k=ed25519; p=${spki.subarray(-32).toString('base64')}`
    : `v=DKIM1; k=rsa; p=${spki.toString('base64')}`;
}

/** A published key record, parsed and judged (RFC 6376 §3.6.1, RFC 8301, RFC 8463). */
export interface KeyRecord {
  keyType: string;
  key: KeyObject | undefined;
  bits: number | undefined;
  revoked: boolean;
  testing: boolean;
  /** t=s: the i= domain must be d= itself, not a subdomain. */
  strict: boolean;
  hashes: string[] | undefined;
  services: string[] | undefined;
  /** Why the record cannot be used (syntax, unknown key type, a key that does not decode). */
  errors: string[];
  notes: string[];
}

const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

export function parseKeyRecord(text: string): KeyRecord {
  const { tags, errors } = parseTagList(text);
  const r: KeyRecord = {
    keyType: 'rsa',
    key: undefined,
    bits: undefined,
    revoked: false,
    testing: false,
    strict: false,
    hashes: undefined,
    services: undefined,
    errors: [...errors],
    notes: [],
  };
  const v = tags.get('v');
  if (v !== undefined && v !== 'DKIM1') r.errors.push(`v=${v}: only v=DKIM1 exists (RFC 6376 §3.6.1)`);
  if (v !== undefined && !/^\s*v\s*=/.test(text))
    r.errors.push('v= must be the first tag when present (RFC 6376 §3.6.1)');
  r.keyType = (tags.get('k') ?? 'rsa').toLowerCase();
  r.hashes = tags
    .get('h')
    ?.split(':')
    .map((h) => h.trim().toLowerCase());
  r.services = tags
    .get('s')
    ?.split(':')
    .map((s) => s.trim().toLowerCase());
  const flags = (tags.get('t') ?? '').split(':').map((f) => f.trim().toLowerCase());
  r.testing = flags.includes('y');
  r.strict = flags.includes('s');
  const p = tags.get('p');
  if (p === undefined) {
    r.errors.push('no p= tag: the record holds no key (RFC 6376 §3.6.1 requires p=)');
    return r;
  }
  const data = compact(p);
  if (!data) {
    r.revoked = true;
    return r;
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) {
    r.errors.push('p= is not base64');
    return r;
  }
  const der = Buffer.from(data, 'base64');
  try {
    if (r.keyType === 'ed25519') {
      if (der.length !== 32)
        throw new Error(
          `an Ed25519 key is 32 bytes, this one ${der.length} (RFC 8463 §4.2: the raw key, not the SPKI)`,
        );
      r.key = createPublicKey({ key: Buffer.concat([ED25519_SPKI, der]), format: 'der', type: 'spki' });
      r.bits = 256;
    } else if (r.keyType === 'rsa') {
      let key: KeyObject;
      try {
        key = createPublicKey({ key: der, format: 'der', type: 'spki' });
      } catch {
        // Some publish the bare RSAPublicKey (PKCS#1) instead of the SPKI; verifiers such as dkimpy accept it.
        key = createPublicKey({ key: der, format: 'der', type: 'pkcs1' });
        r.notes.push('p= holds a bare RSAPublicKey (PKCS#1), not the SubjectPublicKeyInfo RFC 6376 §3.6.1 asks for');
      }
      if (key.asymmetricKeyType !== 'rsa') throw new Error(`k=rsa but p= holds a ${key.asymmetricKeyType} key`);
      r.key = key;
      r.bits = key.asymmetricKeyDetails?.modulusLength;
    } else {
      r.errors.push(`k=${r.keyType}: unknown key type (rsa or ed25519)`);
    }
  } catch (err) {
    r.errors.push(`p= does not decode as a ${r.keyType} public key: ${(err as Error).message}`);
  }
  return r;
}
