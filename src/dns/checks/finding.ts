/** One judged record: what a check found, in words, with a verdict. */
export interface Finding {
  check: 'SPF' | 'DMARC' | 'MTA-STS' | 'TLS-RPT' | 'DANE' | 'DKIM' | 'DNSBL';
  status: 'pass' | 'warn' | 'fail' | 'absent';
  summary: string;
  details: string[];
  /** The record(s) as found. */
  records: string[];
  /** Each problem with the RFC section it comes from (SPF, DMARC, DKIM keys). */
  issues?: Array<{ severity: 'error' | 'warning'; text: string; ref: string }>;
}

/** key=value; tags (DMARC, MTA-STS TXT, TLS-RPT). */
export function tags(record: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) map.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return map;
}
