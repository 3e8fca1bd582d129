import type { DnsErrorInfo, DnsFailure, Tlsa } from '../resolver.js';

/** DANE for one MX host, as data: its TLSA records, whether DNSSEC vouched for them, and what matched. */
export interface DaneHost {
  host: string;
  tlsa: Tlsa[];
  authenticated: boolean;
  /** The record the presented certificate matched; null when none did or no connection was made. */
  match: Tlsa | null;
  /** Set when the TLSA look-up failed (a DANE sender defers mail to this host). */
  error?: DnsErrorInfo;
}

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
  /** The look-up failed (SERVFAIL, no answer): a temporary error, never "no record". */
  dnsError?: DnsErrorInfo;
  /** DANE: per MX host. */
  hosts?: DaneHost[];
}

/**
 * A check whose look-up failed (SERVFAIL, timeout): a temporary error (temperror), never
 * "no record". `what` says which look-up when it was not the check's first.
 */
export function lookupFailed(check: Finding['check'], err: DnsFailure, what?: string): Finding {
  return {
    check,
    status: 'fail',
    summary: `${what ? `${what}: ` : ''}the DNS look-up failed (${err.short}): a temporary error (temperror), not a missing record`,
    details: [err.message],
    records: [],
    dnsError: err.info,
  };
}

/** A record's first tag as written ("v=dmarc1"), to name a record that senders or receivers discard. */
export const firstTag = (record: string) => record.trim().split(';')[0]!.trim();

/** An issue in words with its source, as summaries show it: "text (RFC 7208 §4.6.4)". */
export const sayIssue = (i: { text: string; ref: string }) => `${i.text} (${i.ref})`;

/**
 * key=value; tags (DMARC, MTA-STS TXT, TLS-RPT). DMARC's names are case-insensitive (the last
 * of a repeated tag counts); MTA-STS and TLS-RPT spell theirs exactly (%s"id=", %s"rua=" in
 * RFC 8461/8460's ABNF), names kept as written, and the first of a repeated one counts.
 */
export function tags(record: string, opts: { caseSensitive?: boolean } = {}): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (opts.caseSensitive && map.has(name)) continue;
    map.set(opts.caseSensitive ? name : name.toLowerCase(), part.slice(eq + 1).trim());
  }
  return map;
}
