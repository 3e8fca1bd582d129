import { ExitCode, SmtpkitError } from '../errors.js';
import { DnsFailure } from '../dns/resolver.js';
import type { AuditCheck, AuditOptions, Verdict } from './check.js';
import { NotTested } from './not-tested.js';
import { AuditContext } from './context.js';
import { GROUPS, type AuditFinding, type AuditReport, type GroupScore } from './result.js';
import { AUDIT_CHECKS } from './table.js';
import { describeTimeout } from '../util/duration.js';

const DEADLINE = Symbol('deadline');
/** How close to its deadline an audit may end and still have been cut by it (timers are not exact). */
const CLOCK_SLACK_MS = 100;

/**
 * The whole mail setup of a domain, judged: every check of the table runs (sharing one MX
 * look-up and one probe per MX address), each gives verdicts, and whatever has not finished
 * when the deadline comes is "not tested" with that reason. Never throws for what a server
 * or DNS does; only for a bug.
 */
export async function runAudit(
  options: AuditOptions,
  checks: readonly AuditCheck[] = AUDIT_CHECKS,
): Promise<AuditReport> {
  const started = Date.now();
  const ctx = new AuditContext(options, started + options.timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof DEADLINE>((resolve) => {
    timer = setTimeout(() => resolve(DEADLINE), options.timeoutMs);
  });
  let exceeded = false;
  try {
    const results = await Promise.all(
      checks.map(async (check) => {
        const running = verdictsOf(check, ctx);
        running.catch(() => {});
        const v = await Promise.race([running, deadline]);
        if (v !== DEADLINE) return findings(check, v);
        exceeded = true;
        return findings(check, [
          {
            status: 'not-tested',
            summary: `the audit's time limit (${describeTimeout(options.timeoutMs)}, --timeout) ran out before this check finished`,
          },
        ]);
      }),
    );
    const all = results.flat();
    return {
      domain: options.domain,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      port: options.port,
      // Each wait is given the time left, so one may end a moment before the audit's own timer:
      // an audit that ran to its deadline ran out of time, whichever clock ended it.
      deadlineExceeded: exceeded || Date.now() >= started + options.timeoutMs - CLOCK_SLACK_MS,
      dnsError: ctx.unresolved,
      findings: all,
      groups: GROUPS.map((g) => score(g, all)),
      score: points(all),
    };
  } finally {
    clearTimeout(timer);
    // Checks the deadline cut are still running: they stop now, not after the report.
    ctx.stop();
  }
}

async function verdictsOf(check: AuditCheck, ctx: AuditContext): Promise<Verdict[]> {
  try {
    const v = await check.run(ctx);
    return Array.isArray(v) ? v : [v];
  } catch (err) {
    if (err instanceof NotTested) return [{ status: 'not-tested', summary: err.message }];
    // A look-up or session failure nobody caught is this check's failure, said as such.
    if (err instanceof DnsFailure)
      return [{ status: 'fail', summary: `the DNS look-up failed (${err.short})`, evidence: [err.message] }];
    if (err instanceof SmtpkitError) return [{ status: 'fail', summary: err.message }];
    throw err;
  }
}

function findings(check: AuditCheck, verdicts: Verdict[]): AuditFinding[] {
  return verdicts.map((v) => ({
    group: check.group,
    check: check.name,
    title: check.title,
    subject: v.subject ?? null,
    status: v.status,
    summary: v.summary,
    evidence: v.evidence ?? [],
    reference: check.reference,
    fix: v.status === 'warn' || v.status === 'fail' ? (v.fix ?? check.fix) : null,
  }));
}

const VALUE = { pass: 1, warn: 0.5, fail: 0 } as const;

/** 0–100 over the tested findings; null when none was tested. */
function points(list: AuditFinding[]): number | null {
  const tested = list.filter((f) => f.status !== 'not-tested');
  if (!tested.length) return null;
  const sum = tested.reduce((n, f) => n + VALUE[f.status as keyof typeof VALUE], 0);
  return Math.round((100 * sum) / tested.length);
}

function score(group: AuditReport['groups'][number]['group'], all: AuditFinding[]): GroupScore {
  const mine = all.filter((f) => f.group === group);
  const count = (s: AuditFinding['status']) => mine.filter((f) => f.status === s).length;
  return {
    group,
    score: points(mine),
    pass: count('pass'),
    warn: count('warn'),
    fail: count('fail'),
    notTested: count('not-tested'),
  };
}

/** Exit 1 when any check failed (or the deadline cut the audit short), else 0. */
export const auditFailed = (r: AuditReport) => r.deadlineExceeded || r.findings.some((f) => f.status === 'fail');

/** Exit code of one report: 3 when the domain did not resolve, 1 on a failed check or one worse than the baseline. */
export function auditExitCode(r: AuditReport, worseThanBaseline: boolean): number {
  if (r.dnsError) return ExitCode.dns;
  return auditFailed(r) || worseThanBaseline ? 1 : 0;
}

/** --domains: at most `concurrency` audits at once, each handed on as it finishes. */
export async function auditEach(
  domains: readonly string[],
  settings: Omit<AuditOptions, 'domain'>,
  concurrency: number,
  done: (report: AuditReport) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < domains.length) done(await runAudit({ ...settings, domain: domains[next++]! }));
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, domains.length) }, worker));
}
