import type { Resolver } from '../resolver.js';
import { firstTag, sayIssue, tags, type Finding } from './finding.js';
import { httpsProblem, mailtoProblem, parseReportUri } from './report-uri.js';

const REF = 'RFC 8460 §3';

/** SMTP TLS Reporting (RFC 8460): _smtp._tls.<domain> with v=TLSRPTv1 and rua=. */
export async function checkTlsRpt(resolver: Resolver, domain: string): Promise<Finding> {
  const found = (await resolver.txt(`_smtp._tls.${domain}`)).records;
  // The version is case-sensitive (%s"v=TLSRPTv1"): senders discard v=tlsrptv1.
  const records = found.filter((r) => /^v=TLSRPTv1\s*(;|$)/.test(r.trim()));
  const ignored = found.filter((r) => !records.includes(r) && /^v\s*=\s*tlsrptv/i.test(r.trim()));
  const base = { check: 'TLS-RPT' as const, records };
  if (!records.length && ignored.length) {
    const text = `the _smtp._tls record begins "${firstTag(ignored[0]!)}", not exactly "v=TLSRPTv1" (case-sensitive, no spaces): senders discard the record and send no reports`;
    return {
      ...base,
      records: ignored,
      status: 'fail',
      summary: `${text} (${REF})`,
      details: [],
      issues: [{ severity: 'error', text, ref: REF }],
    };
  }
  if (!records.length)
    return {
      ...base,
      status: 'absent',
      summary: 'no TLS-RPT record: senders cannot report TLS failures to you',
      details: [],
    };
  if (records.length > 1)
    return {
      ...base,
      status: 'fail',
      summary: `${records.length} TLS-RPT records: RFC 8460 §3 says senders then ignore them`,
      details: [],
    };
  const fields = tags(records[0]!, { caseSensitive: true });
  const rua = fields.get('rua');
  if (!rua) {
    const miscased = [...fields.keys()].find((k) => k.toLowerCase() === 'rua');
    return {
      ...base,
      status: 'fail',
      summary: miscased
        ? `"${miscased}=" is not "rua=": field names are case-sensitive (${REF}), so the record has no rua= and reports have nowhere to go`
        : 'the record has no rua=: reports have nowhere to go',
      details: [],
    };
  }
  const issues = judgeRua(rua).map((text) => ({ severity: 'error' as const, text, ref: REF }));
  if (issues.length) return { ...base, status: 'fail', summary: issues.map(sayIssue).join('; '), details: [], issues };
  return { ...base, status: 'pass', summary: `reports go to ${rua}`, details: [] };
}

/** rua=: mailto: and https: URIs, comma-separated, with "," "!" and ";" percent-encoded inside one (RFC 8460 §3). */
function judgeRua(value: string): string[] {
  const problems: string[] = [];
  for (const raw of value.split(',')) {
    const uri = raw.trim();
    const parsed = parseReportUri('rua', uri);
    if ('problem' in parsed) problems.push(parsed.problem);
    else if (parsed.scheme !== 'mailto' && parsed.scheme !== 'https')
      problems.push(`rua= must hold mailto: or https: URIs, not ${uri}`);
    // A DMARC size limit (mailto:x@y!10m) copied over: TLS-RPT has none, and "!" must be encoded.
    else if (uri.includes('!'))
      problems.push(`rua=${uri}: "!" must be percent-encoded (TLS-RPT has no DMARC-style size limit)`);
    else {
      const problem = parsed.scheme === 'mailto' ? mailtoProblem('rua', uri, parsed.rest) : httpsProblem('rua', uri);
      if (problem) problems.push(problem);
    }
  }
  return problems;
}
