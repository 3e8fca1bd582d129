import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';

export interface CertificateFacts {
  subject: string;
  issuer: string;
  subjectAltNames: string[];
  validFrom: string;
  validTo: string;
  /** Whole days until validTo; negative once expired. */
  daysLeft: number;
  /** "RSA 2048", "EC P-256", "ED25519". */
  key: string;
  /** The key's algorithm ("RSA", "EC", "ED25519") and size in bits, as numbers for machines. */
  keyType: string;
  keyBits: number | null;
  sha256: string;
}

export interface TlsFacts {
  protocol: string;
  cipher: string;
  /** The key-exchange group, e.g. "X25519", when the peer told us. */
  keyExchange: string | null;
  /** The SNI name we sent, if any. */
  sni: string | null;
  /** The server's certificate first, then its issuers as the handshake gave them. */
  chain: CertificateFacts[];
  trusted: boolean;
  /** Why the chain is not trusted, in words. */
  trustError: string | null;
  /** The name the certificate was checked against. */
  nameChecked: string;
  nameMatches: boolean;
  nameError: string | null;
}

const DAY_MS = 86_400_000;

/**
 * Facts of certificates seen lately, by SHA-256 fingerprint: a long-running exporter or a
 * probe of many MX hosts meets the same few certificates again and again, and parsing one
 * (X509Certificate, its public key) costs more CPU than the rest of reading a handshake.
 */
const parsed = new Map<string, Omit<CertificateFacts, 'daysLeft'>>();
const PARSED_KEPT = 64;

function certificateFacts(raw: Buffer, fingerprint: string, now: number): CertificateFacts {
  let facts = parsed.get(fingerprint);
  if (!facts) {
    facts = parseCertificate(raw);
    if (parsed.size >= PARSED_KEPT) parsed.delete(parsed.keys().next().value!);
    parsed.set(fingerprint, facts);
  }
  return {
    ...facts,
    subjectAltNames: [...facts.subjectAltNames],
    daysLeft: Math.floor((Date.parse(facts.validTo) - now) / DAY_MS),
  };
}

function parseCertificate(raw: Buffer): Omit<CertificateFacts, 'daysLeft'> {
  const x = new X509Certificate(raw);
  const details = x.publicKey.asymmetricKeyDetails ?? {};
  const type = (x.publicKey.asymmetricKeyType ?? 'unknown').toUpperCase();
  const size = details.modulusLength
    ? ` ${details.modulusLength}`
    : details.namedCurve
      ? ` ${curveName(details.namedCurve)}`
      : '';
  return {
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    subjectAltNames: x.subjectAltName ? x.subjectAltName.split(/,\s*/) : [],
    validFrom: new Date(x.validFrom).toISOString(),
    validTo: new Date(x.validTo).toISOString(),
    key: `${type}${size}`,
    keyType: type,
    keyBits:
      details.modulusLength ??
      (details.namedCurve
        ? (CURVE_BITS[details.namedCurve] ?? null)
        : type === 'ED25519'
          ? 256
          : type === 'ED448'
            ? 456
            : null),
    sha256: x.fingerprint256,
  };
}

const CURVE_BITS: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521, secp256k1: 256 };
const curveName = (c: string) => ({ prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' })[c] ?? c;

/** OpenSSL's verify codes, said the way a person debugging would want them. */
const TRUST_ERRORS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the chain ends in a self-signed root that is not trusted here',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    'the issuer is unknown here: the server may not send its intermediate certificate, or the CA is private',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    'the certificate cannot be traced to a trusted CA: the server may not send its intermediate certificate',
  CERT_HAS_EXPIRED: 'a certificate in the chain has expired',
  CERT_NOT_YET_VALID: 'a certificate in the chain is not valid yet (check the clocks)',
  CERT_REVOKED: 'a certificate in the chain is revoked',
  CERT_SIGNATURE_FAILURE: 'a signature in the chain does not verify',
};

/** Trust failures that a CA given to the client cures (a private CA, a self-signed certificate, a missing intermediate). */
const CURED_BY_A_CA = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/** Whether trusting another CA would make this chain trusted (not so for an expired or revoked one). */
export function curedByACa(facts: TlsFacts): boolean {
  const code = /\(([A-Z_]+)\)$/.exec(facts.trustError ?? '')?.[1];
  return !facts.trusted && code !== undefined && CURED_BY_A_CA.has(code);
}

/** What the peer presented, read from the socket once per handshake (each read converts the whole chain). */
export type PeerCertificate = DetailedPeerCertificate | undefined;
export const peerCertificate = (socket: TLSSocket): PeerCertificate =>
  socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined;

/** The certificates of the chain, leaf first, as the handshake linked them. */
function chainOf(peer: PeerCertificate): DetailedPeerCertificate[] {
  const chain: DetailedPeerCertificate[] = [];
  const seen = new Set<string>();
  for (let c = peer; c && c.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    chain.push(c);
  }
  return chain;
}

/** The certificates the peer presented (DER), leaf first, as the handshake linked them. */
export const peerChain = (peer: PeerCertificate): Buffer[] => chainOf(peer).map((c) => c.raw);

/** Reads what the handshake established; judging it (fail or warn) is the caller's business. */
export function tlsFacts(
  socket: TLSSocket,
  nameChecked: string,
  sni: string | undefined,
  peer: PeerCertificate = peerCertificate(socket),
): TlsFacts {
  const now = Date.now();
  const chain = chainOf(peer).map((c) => certificateFacts(c.raw, c.fingerprint256, now));
  const identityError = peer?.raw
    ? checkServerIdentity(nameChecked, peer)
    : new Error('the server sent no certificate');
  const authError = socket.authorizationError ? String(socket.authorizationError) : undefined;
  const key = socket.getEphemeralKeyInfo();
  const cipher = socket.getCipher();
  return {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: cipher.standardName ?? cipher.name,
    keyExchange: key && 'name' in key && key.name ? String(key.name) : null,
    sni: sni ?? null,
    chain,
    trusted: socket.authorized,
    trustError: socket.authorized
      ? null
      : authError
        ? `${TRUST_ERRORS[authError] ?? authError} (${authError})`
        : 'not verified',
    nameChecked,
    nameMatches: !identityError,
    nameError: identityError ? nameMismatch(nameChecked, chain[0]) : null,
  };
}

function nameMismatch(name: string, leaf: CertificateFacts | undefined): string {
  if (!leaf) return 'the server sent no certificate';
  const names = leaf.subjectAltNames.length ? leaf.subjectAltNames.join(', ') : `only the subject ${leaf.subject}`;
  return `the certificate is for ${names}, not ${name}`;
}
