/**
 * What an audit finds, as data: the engine (src/audit/) fills it, the renderers show it.
 * It lives here, beside its renderers, because engines import render (probe does): a type
 * of audit/ read by render/ would make a folder circle. The JSON document's `report` is
 * this shape; a field changes meaning only with a new schema.
 */

/** not-tested always carries a reason: an item is never silently absent. */
export type AuditStatus = 'pass' | 'warn' | 'fail' | 'not-tested';

/** In the order a report shows them. */
export const GROUPS = ['dns', 'dnssec', 'authenticity', 'transport', 'hardening'] as const;
export type AuditGroup = (typeof GROUPS)[number];

export const GROUP_TITLES: Record<AuditGroup, string> = {
  dns: 'DNS and reachability',
  dnssec: 'DNSSEC',
  authenticity: 'Authenticity (SPF, DMARC, DKIM, MTA-STS, TLS-RPT)',
  transport: 'Transport security per MX',
  hardening: 'Server hardening',
};

/** One verdict: a check on the domain, or on one MX host or address (`subject`). */
export interface AuditFinding {
  group: AuditGroup;
  /** Stable id within the group: "spf", "starttls", "open-relay". */
  check: string;
  title: string;
  /** The MX host or address judged; null for the domain itself. */
  subject: string | null;
  status: AuditStatus;
  /** One sentence: what was found (for not-tested: why not). */
  summary: string;
  /** What was seen: records, replies, addresses. */
  evidence: string[];
  /** The RFC or guideline the verdict follows. */
  reference: string;
  /** What to change; null when nothing needs changing. */
  fix: string | null;
}

export interface GroupScore {
  group: AuditGroup;
  /** 0 to 100 over the tested checks (pass 1, warn 0.5, fail 0); null when nothing was tested. */
  score: number | null;
  pass: number;
  warn: number;
  fail: number;
  notTested: number;
}

export interface AuditReport {
  domain: string;
  startedAt: string;
  durationMs: number;
  /** The SMTP port every probe went to (25 unless --port). */
  port: number;
  /** The whole-audit deadline ran out: the checks it cut are not-tested. */
  deadlineExceeded: boolean;
  /** The domain's MX look-up failed outright (NXDOMAIN, SERVFAIL, no answer): why; null otherwise. */
  dnsError: string | null;
  findings: AuditFinding[];
  groups: GroupScore[];
  score: number | null;
}

/** How many of a group's checks the score stands on: "2 of 7 checks tested" (a 100/100 on 2 says so). */
export function testedText(g: GroupScore): string {
  const total = g.pass + g.warn + g.fail + g.notTested;
  return `${total - g.notTested} of ${total} check${total === 1 ? '' : 's'} tested`;
}

/** A finding's identity across runs (for --baseline). */
export const findingKey = (f: Pick<AuditFinding, 'group' | 'check' | 'subject'>) =>
  `${f.group}/${f.check}${f.subject ? `/${f.subject}` : ''}`;

/** Worst first. */
export const SEVERITY: Record<AuditStatus, number> = { fail: 0, warn: 1, pass: 2, 'not-tested': 3 };

/** What changed since a previous report; `worse` is a CI gate's reason to fail. */
export interface AuditChange {
  key: string;
  title: string;
  before: AuditStatus | null;
  after: AuditStatus | null;
  worse: boolean;
}
