import type { Resolver } from '../resolver.js';
import { tags, type Finding } from './finding.js';

/** SMTP TLS Reporting (RFC 8460): _smtp._tls.<domain> with v=TLSRPTv1 and rua=. */
export async function checkTlsRpt(resolver: Resolver, domain: string): Promise<Finding> {
  const records = (await resolver.txt(`_smtp._tls.${domain}`)).records.filter((r) => /^v=TLSRPTv1\s*(;|$)/i.test(r.trim()));
  const base = { check: 'TLS-RPT' as const, records };
  if (!records.length) return { ...base, status: 'absent', summary: 'no TLS-RPT record: senders cannot report TLS failures to you', details: [] };
  if (records.length > 1) return { ...base, status: 'fail', summary: `${records.length} TLS-RPT records: RFC 8460 §3 says senders then ignore them`, details: [] };
  const rua = tags(records[0]!).get('rua');
  if (!rua) return { ...base, status: 'fail', summary: 'the record has no rua=: reports have nowhere to go', details: [] };
  const bad = rua.split(',').filter((u) => !/^(mailto:|https:)/i.test(u.trim()));
  if (bad.length) return { ...base, status: 'fail', summary: `rua= must hold mailto: or https: addresses, not ${bad.join(', ')}`, details: [] };
  return { ...base, status: 'pass', summary: `reports go to ${rua}`, details: [] };
}
