import { createHash, X509Certificate } from 'node:crypto';
import { adCaveat, DnsFailure, type Resolver, type Tlsa } from '../resolver.js';
import type { DaneHost, Finding } from './finding.js';

const USAGE = ['PKIX-TA (0)', 'PKIX-EE (1)', 'DANE-TA (2)', 'DANE-EE (3)'];
const SELECTOR = ['full certificate (0)', 'public key (1)'];
const MATCHING = ['exact (0)', 'SHA-256 (1)', 'SHA-512 (2)'];

export function describeTlsa(t: Tlsa): string {
  return `${USAGE[t.usage] ?? `usage ${t.usage}`}, ${SELECTOR[t.selector] ?? `selector ${t.selector}`}, ${MATCHING[t.matchingType] ?? `matching ${t.matchingType}`}: ${t.data.slice(0, 64)}${t.data.length > 64 ? '…' : ''}`;
}

/** Association data length of each digest matching type (RFC 6698 §2.1.3): SHA-256 and SHA-512. */
const DIGEST_BYTES: Record<number, number> = { 1: 32, 2: 64 };

/**
 * Why a TLSA record is unusable for any client (RFC 6698 §4.1): a usage, selector or
 * matching type it does not know, or data that cannot be what its matching type says
 * (a 31-byte SHA-256; RFC 7671 §9 discards it before anything is compared).
 */
export function tlsaUnusable(t: Tlsa): string | undefined {
  if (t.usage < 0 || t.selector < 0 || t.matchingType < 0) return 'the record is truncated (under 3 octets)';
  if (t.usage > 3) return `usage ${t.usage} is unknown (0 to 3 are defined)`;
  if (t.selector > 1) return `selector ${t.selector} is unknown (0 and 1 are defined)`;
  if (t.matchingType > 2) return `matching type ${t.matchingType} is unknown (0 to 2 are defined)`;
  const bytes = t.data.length / 2;
  const want = DIGEST_BYTES[t.matchingType];
  if (want !== undefined && bytes !== want)
    return `${bytes} bytes of ${MATCHING[t.matchingType]} data, where the digest is ${want} bytes`;
  if (!bytes) return 'no association data';
  return undefined;
}

/** Why a record is unusable by an SMTP sender: as for any client, or a PKIX usage (RFC 7672 §3.1.3). */
export function smtpUnusable(t: Tlsa): string | undefined {
  return (
    tlsaUnusable(t) ??
    (t.usage === 0 || t.usage === 1 ? `${USAGE[t.usage]} is not used by SMTP senders (RFC 7672 §3.1.3)` : undefined)
  );
}

/**
 * DANE for SMTP (RFC 7672): TLSA at _<port>._tcp.<mx> for each MX host, decoded and
 * judged. A failed look-up is a failure for that host (a DANE sender defers mail to it,
 * §2.2), not "no TLSA"; the other hosts are still judged.
 */
export async function checkDane(resolver: Resolver, mxHosts: string[], port = 25): Promise<Finding> {
  const details: string[] = [];
  const records: string[] = [];
  const failures: string[] = [];
  const problems: string[] = [];
  const hosts: DaneHost[] = [];
  const caveats = new Set<string>();
  for (const host of mxHosts) {
    const name = `_${port}._tcp.${host}`;
    let answer;
    try {
      answer = await resolver.tlsa(name);
    } catch (err) {
      if (!(err instanceof DnsFailure)) throw err;
      hosts.push({ host, tlsa: [], authenticated: false, match: null, error: err.info });
      failures.push(
        `${host}: the TLSA look-up failed (${err.short}): a DANE sender defers mail to this host (RFC 7672 §2.2)`,
      );
      details.push(`${host}: ${err.message}`);
      continue;
    }
    hosts.push({ host, tlsa: answer.records, authenticated: answer.authenticated, match: null });
    const caveat = adCaveat(answer.response);
    if (caveat) caveats.add(caveat);
    if (!answer.records.length) {
      details.push(`${host}: no TLSA records`);
      continue;
    }
    for (const t of answer.records) {
      records.push(`${name} ${t.usage} ${t.selector} ${t.matchingType} ${t.data}`);
      const broken = tlsaUnusable(t);
      details.push(`${host}: ${describeTlsa(t)}${broken ? ` (unusable: ${broken})` : ''}`);
      if (broken)
        problems.push(
          `${host} has an unusable TLSA record (${t.usage} ${t.selector} ${t.matchingType}): ${broken}; senders discard it (RFC 6698 §4.1)`,
        );
      else if (t.usage === 0 || t.usage === 1)
        problems.push(
          `${host} has a ${USAGE[t.usage]} record: RFC 7672 §3.1.3 says SMTP senders treat it as unusable; use DANE-TA (2) or DANE-EE (3)`,
        );
    }
    // RFC 7672 §2.2: TLS is still required, but nothing authenticates the certificate.
    if (answer.records.every((t) => smtpUnusable(t)))
      problems.push(
        `${host}: no usable TLSA record, so DANE is not in effect for this host: senders must use TLS but cannot authenticate its certificate (RFC 7672 §2.2)`,
      );
    if (!answer.authenticated)
      problems.push(
        `${host}: the resolver did not vouch for the TLSA records with DNSSEC (no AD bit); senders ignore TLSA that is not validated`,
      );
  }
  details.push(...caveats);
  const covered = hosts.filter((h) => h.tlsa.length);
  const bare = hosts.filter((h) => !h.tlsa.length && !h.error).map((h) => h.host);
  const base = {
    check: 'DANE' as const,
    details,
    records,
    hosts,
    ...(hosts.find((h) => h.error) ? { dnsError: hosts.find((h) => h.error)!.error } : {}),
  };
  if (failures.length) return { ...base, status: 'fail', summary: [...failures, ...problems].join('; ') };
  if (!covered.length) return { ...base, status: 'absent', summary: 'no TLSA records on any MX host: no DANE' };
  // A sender that finds no TLSA for an MX host falls back to opportunistic TLS for it (RFC 7672 §2.2).
  if (bare.length)
    problems.push(
      `only some MX hosts have TLSA records: ${bare.join(', ')} ${bare.length === 1 ? 'has' : 'have'} none, so DANE senders use unauthenticated TLS there`,
    );
  return {
    ...base,
    status: problems.length ? 'warn' : 'pass',
    summary: problems.length ? problems.join('; ') : 'TLSA records present and DNSSEC-validated',
  };
}

/**
 * Does the presented chain match any of the TLSA records (RFC 7672 §3.1)? DANE-EE (3)
 * against the leaf only; DANE-TA (2) against an issuer in the chain, and then the leaf
 * must really chain up to it by signatures (a server could send any CA certificate
 * beside its own). PKIX usages and unusable records (smtpUnusable) are not used.
 */
export function daneMatch(records: Tlsa[], chainDer: Buffer[]): { matched: Tlsa | undefined; usable: number } {
  const usable = records.filter((r) => !smtpUnusable(r));
  const chain = chainDer.map((der) => new X509Certificate(der));
  for (const r of usable) {
    const candidates = r.usage === 3 ? chain.slice(0, 1) : chain;
    for (const [i, cert] of candidates.entries()) {
      const selected = r.selector === 1 ? cert.publicKey.export({ type: 'spki', format: 'der' }) : cert.raw;
      const digest =
        r.matchingType === 1
          ? createHash('sha256').update(selected).digest()
          : r.matchingType === 2
            ? createHash('sha512').update(selected).digest()
            : selected;
      if (digest.toString('hex') !== r.data.toLowerCase()) continue;
      if (r.usage === 3 || chainsTo(chain, i)) return { matched: r, usable: usable.length };
    }
  }
  return { matched: undefined, usable: usable.length };
}

/** The leaf is signed by chain[1], chain[1] by chain[2] ... up to chain[top]. */
function chainsTo(chain: X509Certificate[], top: number): boolean {
  for (let i = 0; i < top; i++) {
    const child = chain[i]!;
    const parent = chain[i + 1]!;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) return false;
  }
  return true;
}
