import type { Resolver } from '../resolver.js';
import { tags, type Finding } from './finding.js';

/**
 * DMARC (RFC 7489): _dmarc.<domain>, falling back to the organisational domain. Without
 * the Public Suffix List the organisational domain is taken as the last two labels,
 * which is wrong under suffixes like co.uk; the finding says so when it falls back.
 */
export async function checkDmarc(resolver: Resolver, domain: string): Promise<Finding> {
  let at = domain;
  let records = await dmarcRecords(resolver, domain);
  const details: string[] = [];
  if (!records.length) {
    const org = domain.split('.').slice(-2).join('.');
    if (org !== domain) {
      records = await dmarcRecords(resolver, org);
      if (records.length) {
        at = org;
        details.push(`no record at _dmarc.${domain}; using the organisational domain ${org} (taken as the last two labels)`);
      }
    }
  }
  const base = { check: 'DMARC' as const, records };
  if (!records.length) return { ...base, status: 'absent', summary: `no DMARC record at _dmarc.${domain}: receivers get no policy for mail that fails SPF and DKIM`, details };
  if (records.length > 1) return { ...base, status: 'fail', summary: `${records.length} DMARC records at _dmarc.${at}: receivers ignore them all (RFC 7489 §6.6.3)`, details };
  const t = tags(records[0]!);
  const p = t.get('p')?.toLowerCase();
  if (!p || !['none', 'quarantine', 'reject'].includes(p)) return { ...base, status: 'fail', summary: `the p= tag is ${p ? `"${p}", not none, quarantine or reject` : 'missing'}`, details };
  for (const [k, label] of [['sp', 'subdomain policy'], ['pct', 'percentage'], ['rua', 'aggregate reports to'], ['ruf', 'failure reports to'], ['adkim', 'DKIM alignment'], ['aspf', 'SPF alignment']] as const) {
    if (t.has(k)) details.push(`${label}: ${t.get(k)}`);
  }
  const warnings: string[] = [];
  if (p === 'none') warnings.push('p=none only monitors: failing mail is still delivered');
  const pct = t.get('pct');
  if (pct !== undefined && (!/^\d+$/.test(pct) || Number(pct) > 100)) return { ...base, status: 'fail', summary: `pct=${pct} is not 0 to 100`, details };
  if (pct !== undefined && Number(pct) < 100) warnings.push(`pct=${pct}: the policy applies to only part of the failing mail`);
  if (!t.has('rua')) warnings.push('no rua=: no aggregate reports will tell you who sends as this domain');
  return { ...base, status: warnings.length ? 'warn' : 'pass', summary: `policy ${p}${warnings.length ? `; ${warnings.join('; ')}` : ''}`, details };
}

async function dmarcRecords(resolver: Resolver, domain: string): Promise<string[]> {
  return (await resolver.txt(`_dmarc.${domain}`)).records.filter((r) => /^v=DMARC1\s*(;|$)/i.test(r.trim()));
}
