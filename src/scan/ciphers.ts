import { CATALOGUE } from './catalogue.js';

export type Version = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface Suite {
  /** OpenSSL's name, as sslscan prints it. */
  name: string;
  /** The IANA (RFC) name. */
  iana: string;
  /** The first protocol version that can carry it. */
  since: string;
  keyExchange: string;
  authentication: string;
  encryption: string;
  bits: number;
  mac: string;
}

export const SUITES: Suite[] = CATALOGUE.map(
  ([name, iana, since, keyExchange, authentication, encryption, bits, mac]) => ({
    name,
    iana,
    since,
    keyExchange,
    authentication,
    encryption,
    bits,
    mac,
  }),
);

const ORDER = ['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** The suites a ClientHello of this version can carry: TLS 1.3 has its own five. */
export function suitesFor(version: Version): Suite[] {
  if (version === 'TLSv1.3') return SUITES.filter((s) => s.since === 'TLSv1.3');
  return SUITES.filter((s) => s.since !== 'TLSv1.3' && ORDER.indexOf(s.since) <= ORDER.indexOf(version));
}

export type Severity = 'fail' | 'warn';

/**
 * Why a suite is weak, worst first; empty when it is not. NULL, EXPORT, RC4 and single DES
 * give no real secrecy (fail); anonymous suites invite a man in the middle, 3DES falls to
 * Sweet32, CBC with SHA-1 to padding-oracle attacks, and static RSA has no forward
 * secrecy (warn).
 */
export function weaknesses(s: Suite): { reason: string; severity: Severity }[] {
  const out: { reason: string; severity: Severity }[] = [];
  const enc = s.encryption.toUpperCase();
  if (enc === 'NONE') out.push({ reason: 'NULL encryption', severity: 'fail' });
  if (s.name.startsWith('EXP') || (s.bits <= 56 && enc !== 'NONE'))
    out.push({ reason: s.name.startsWith('EXP') ? 'EXPORT grade' : `${s.bits}-bit DES`, severity: 'fail' });
  if (enc.startsWith('RC4')) out.push({ reason: 'RC4', severity: 'fail' });
  if (s.mac === 'MD5') out.push({ reason: 'MD5 MAC', severity: 'fail' });
  if (s.authentication === 'None' && s.since !== 'TLSv1.3')
    out.push({ reason: 'anonymous (no server authentication)', severity: 'warn' });
  if (enc === '3DES') out.push({ reason: '3DES (Sweet32)', severity: 'warn' });
  if (s.mac === 'SHA1' && !/GCM|CCM|CHACHA/.test(enc) && enc !== 'NONE' && !enc.startsWith('RC4'))
    out.push({ reason: 'CBC with SHA-1', severity: 'warn' });
  if (/^RSA/.test(s.keyExchange)) out.push({ reason: 'no forward secrecy (RSA key exchange)', severity: 'warn' });
  return out;
}

/** The key exchange in a word, as a reader of sslscan would expect it. */
export function keyExchangeName(s: Suite): string {
  if (s.since === 'TLSv1.3') return 'ECDHE/DHE (TLS 1.3)';
  if (s.keyExchange.startsWith('ECDH')) return s.authentication === 'None' ? 'ECDH anonymous' : 'ECDHE';
  if (s.keyExchange.startsWith('DH')) return s.authentication === 'None' ? 'DH anonymous' : 'DHE';
  return 'RSA';
}
