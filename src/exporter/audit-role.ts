import { auditExitCode, runAudit } from '../audit/audit.js';
import { AUDIT_MAX_MX, AUDIT_SMUGGLING_PAUSE_MS, type AuditOptions } from '../audit/options.js';
import { GROUPS, type AuditGroup, type AuditReport, type AuditStatus } from '../audit/result.js';
import { dnsblZones } from '../dns/checks/dnsbl.js';
import { parseDomain } from '../dns/domain.js';
import { parseServer, Resolver, systemServers } from '../dns/resolver.js';
import { parseSelector } from '../dkim/sign.js';
import { assertEhloName } from '../protocol/command.js';
import { defaultEhloName } from '../session/for-target.js';
import { durationMs } from '../util/duration.js';
import type { Family } from '../util/prometheus-text.js';
import { readSmallFile } from '../util/read-file.js';
import type { Module } from './modules.js';

/** What an audit module takes from `smtpkit audit`'s declared defaults and the exporter's own. */
export interface AuditDefaults {
  /** The audit's own limit (audit --timeout); the scrape's deadline lowers it. */
  timeoutMs: number;
  waitMs: number;
  port: number;
  httpsPort: number;
  scanConcurrency: number;
  dnsTimeoutMs: number;
  /** How long a result answers the scrapes of its domain when the module sets no cacheFor. */
  cacheForMs: number;
}

/** The audit of one domain by a module, its options read afresh (a rotated CA file is picked up). */
export function auditOptions(m: Module, target: string, d: Readonly<AuditDefaults>): AuditOptions {
  const domain = parseDomain(target);
  const ca = m.caFile ? readSmallFile(m.caFile, '--ca-file') : undefined;
  return {
    domain,
    resolver: new Resolver({
      servers: m.resolver?.length ? m.resolver.map(parseServer) : systemServers(),
      tcp: false,
      doh: undefined,
      timeoutMs: d.dnsTimeoutMs,
      ca,
    }),
    port: m.port ?? d.port,
    timeoutMs: m.timeout === undefined ? d.timeoutMs : durationMs(m.timeout, '--timeout'),
    waitMs: d.waitMs,
    ehloName: assertEhloName(m.ehlo ?? defaultEhloName()),
    ...(ca ? { ca } : {}),
    httpsPort: m.httpsPort ?? d.httpsPort,
    dkimSelectors: (m.dkimSelectors ?? []).map(parseSelector),
    dnsbl: dnsblZones(m.dnsbl ?? []),
    scanConcurrency: d.scanConcurrency,
    // Never from a scrape: the smuggling test sends mail (modules.ts refuses the setting).
    smugglingPauseMs: AUDIT_SMUGGLING_PAUSE_MS,
    maxMx: AUDIT_MAX_MX,
  };
}

/** What a scrape needs of a finished audit: small, so a cache of many domains stays small. */
export interface AuditSummary {
  finishedAt: number;
  durationMs: number;
  exitCode: number;
  deadlineExceeded: boolean;
  /** The deadline the audit ran under: a result it cut answers no scrape that allows longer. */
  timeoutMs: number;
  dnsError: boolean;
  checks: { group: AuditGroup; check: string; status: AuditStatus }[];
  groups: { group: string; score: number | null }[];
  score: number | null;
}

const STATUSES: readonly AuditStatus[] = ['pass', 'warn', 'fail', 'not-tested'];
/** A check with several subjects (one per MX, per address) takes its worst: fail, warn, not tested, pass. */
const WORST: Record<AuditStatus, number> = { fail: 0, warn: 1, 'not-tested': 2, pass: 3 };

/** Runs the audit (never throws for what a server or DNS does) and keeps what the metrics need. */
export async function auditDomain(options: AuditOptions): Promise<AuditSummary> {
  return summarize(await runAudit(options), Date.now(), options.timeoutMs);
}

function summarize(r: AuditReport, finishedAt: number, timeoutMs: number): AuditSummary {
  const checks = new Map<string, { group: AuditGroup; check: string; status: AuditStatus }>();
  for (const f of r.findings) {
    const key = `${f.group}\n${f.check}`;
    const known = checks.get(key);
    if (!known || WORST[f.status] < WORST[known.status])
      checks.set(key, { group: f.group, check: f.check, status: f.status });
  }
  return {
    finishedAt,
    durationMs: r.durationMs,
    exitCode: auditExitCode(r, false),
    deadlineExceeded: r.deadlineExceeded,
    timeoutMs,
    dnsError: !!r.dnsError,
    checks: [...checks.values()].sort(
      (a, b) => GROUPS.indexOf(a.group) - GROUPS.indexOf(b.group) || a.check.localeCompare(b.check),
    ),
    groups: r.groups.map((g) => ({ group: g.group, score: g.score })),
    score: r.score,
  };
}

/** An audit's metrics; `now` gives the result's age (a cached answer says how old it is). */
export function auditFamilies(s: AuditSummary, now: number): Family[] {
  const fam = (name: string, help: string, samples: Family['samples']): Family => ({
    name,
    help,
    type: 'gauge',
    samples,
  });
  return [
    fam(
      'smtpkit_audit_success',
      'Whether the audit passed: no check failed, the domain resolved, it finished in time',
      [{ value: s.exitCode === 0 ? 1 : 0 }],
    ),
    fam(
      'smtpkit_audit_exit_code',
      'The exit code smtpkit audit would give (0 ok, 1 a check failed or time ran out, 3 DNS)',
      [{ value: s.exitCode }],
    ),
    fam('smtpkit_audit_duration_seconds', 'How long the audit took', [{ value: s.durationMs / 1000 }]),
    fam(
      'smtpkit_audit_deadline_exceeded',
      'Whether the deadline (scrape timeout or module timeout) cut the audit short',
      [{ value: s.deadlineExceeded ? 1 : 0 }],
    ),
    fam('smtpkit_audit_age_seconds', 'Seconds since this result was measured (0: measured for this scrape)', [
      { value: Math.max(0, Math.round((now - s.finishedAt) / 1000)) },
    ]),
    fam(
      'smtpkit_audit_check',
      'Each check of the audit: 1 for its status, 0 for the others (a check on several MX hosts takes its worst)',
      s.checks.flatMap((c) =>
        STATUSES.map((status) => ({
          labels: { group: c.group, check: c.check, status },
          value: c.status === status ? 1 : 0,
        })),
      ),
    ),
    fam(
      'smtpkit_audit_score',
      'Score of each group, 0-100 over its tested checks (absent when nothing in it was tested)',
      s.groups.filter((g) => g.score !== null).map((g) => ({ labels: { group: g.group }, value: g.score! })),
    ),
    fam(
      'smtpkit_audit_overall_score',
      'The overall score, 0-100 over every tested check',
      s.score === null ? [] : [{ value: s.score }],
    ),
  ];
}

/** Scrapes of the same timeout differ by what the exporter spent before starting the audit. */
const CUT_SLACK_MS = 1000;

/**
 * Whether more time might have changed the result: the deadline cut it, or it ran to within
 * a second of it (each wait is given the time left, so a wait of its own may end first).
 */
const limited = (s: AuditSummary) => s.deadlineExceeded || s.durationMs >= s.timeoutMs - CUT_SLACK_MS;

/**
 * Audits by (module, domain): one running audit is shared by every scrape that asks for it
 * meanwhile, and its result answers further scrapes until it is `cacheFor` old. An audit
 * takes seconds to a minute and contacts the domain's servers: a scrape every minute must not
 * start one every minute. At most `kept` results are held, the oldest dropped first.
 */
export class AuditCache {
  private readonly done = new Map<string, AuditSummary>();
  private readonly running = new Map<string, Promise<AuditSummary>>();
  constructor(private readonly kept = 256) {}

  /**
   * The cached result, unless too old, or limited by a deadline shorter than `timeoutMs` (this
   * scrape's): else one scrape with a tiny timeout would answer every later scrape for maxAge.
   */
  fresh(key: string, maxAgeMs: number, now: number, timeoutMs: number): AuditSummary | undefined {
    const s = this.done.get(key);
    if (s && now - s.finishedAt < maxAgeMs && !(limited(s) && timeoutMs > s.timeoutMs + CUT_SLACK_MS)) return s;
    if (s) this.done.delete(key);
    return undefined;
  }

  /** The running audit for `key`, or a new one from `start`. */
  run(key: string, start: () => Promise<AuditSummary>): Promise<AuditSummary> {
    const known = this.running.get(key);
    if (known) return known;
    const p = start().then((s) => {
      this.done.delete(key);
      if (this.done.size >= this.kept) this.done.delete(this.done.keys().next().value!);
      this.done.set(key, s);
      return s;
    });
    this.running.set(key, p);
    const forget = () => this.running.delete(key);
    p.then(forget, forget);
    return p;
  }
}
