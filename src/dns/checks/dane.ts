import { createHash, X509Certificate } from 'node:crypto';
import type { Resolver, Tlsa } from '../resolver.js';
import type { Finding } from './finding.js';

const USAGE = ['PKIX-TA (0)', 'PKIX-EE (1)', 'DANE-TA (2)', 'DANE-EE (3)'];
const SELECTOR = ['full certificate (0)', 'public key (1)'];
const MATCHING = ['exact (0)', 'SHA-256 (1)', 'SHA-512 (2)'];

export function describeTlsa(t: Tlsa): string {
  return `${USAGE[t.usage] ?? `usage ${t.usage}`}, ${SELECTOR[t.selector] ?? `selector ${t.selector}`}, ${MATCHING[t.matchingType] ?? `matching ${t.matchingType}`}: ${t.data.slice(0, 64)}${t.data.length > 64 ? '…' : ''}`;
}

/** DANE for SMTP (RFC 7672): TLSA at _<port>._tcp.<mx> for each MX host, decoded and judged. */
export async function checkDane(resolver: Resolver, mxHosts: string[], port = 25): Promise<Finding> {
  const details: string[] = [];
  const records: string[] = [];
  const problems: string[] = [];
  let any = false;
  for (const host of mxHosts) {
    const answer = await resolver.tlsa(`_${port}._tcp.${host}`);
    if (!answer.records.length) {
      details.push(`${host}: no TLSA records`);
      continue;
    }
    any = true;
    for (const t of answer.records) {
      records.push(`_${port}._tcp.${host} ${t.usage} ${t.selector} ${t.matchingType} ${t.data}`);
      details.push(`${host}: ${describeTlsa(t)}`);
      if (t.usage === 0 || t.usage === 1) problems.push(`${host} has a ${USAGE[t.usage]} record: RFC 7672 §3.1.3 says SMTP senders treat it as unusable; use DANE-TA (2) or DANE-EE (3)`);
    }
    if (!answer.authenticated) problems.push(`${host}: the resolver did not vouch for the TLSA records with DNSSEC (no AD bit); senders ignore TLSA that is not validated`);
  }
  if (!any) return { check: 'DANE', status: 'absent', summary: 'no TLSA records on any MX host: no DANE', details, records };
  return { check: 'DANE', status: problems.length ? 'warn' : 'pass', summary: problems.length ? problems.join('; ') : 'TLSA records present and DNSSEC-validated', details, records };
}

/**
 * Does the presented chain match any of the TLSA records (RFC 7672 §3.1)? DANE-EE (3)
 * against the leaf, DANE-TA (2) against any certificate of the chain; PKIX usages are
 * not used for SMTP.
 */
export function daneMatch(records: Tlsa[], chainDer: Buffer[]): { matched: Tlsa | undefined; usable: number } {
  const usable = records.filter((r) => r.usage === 2 || r.usage === 3);
  for (const r of usable) {
    const candidates = r.usage === 3 ? chainDer.slice(0, 1) : chainDer;
    for (const der of candidates) {
      const selected = r.selector === 1 ? new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' }) : der;
      const digest = r.matchingType === 1 ? createHash('sha256').update(selected).digest() : r.matchingType === 2 ? createHash('sha512').update(selected).digest() : selected;
      if (digest.toString('hex') === r.data.toLowerCase()) return { matched: r, usable: usable.length };
    }
  }
  return { matched: undefined, usable: usable.length };
}
