import { auditEach, auditExitCode, runAudit } from '../audit/audit.js';
import { compareBaseline, type baselineFindings } from '../audit/baseline.js';
import type { AuditSettings } from '../audit/options.js';
import type { AuditReport } from '../audit/result.js';
import { auditOutcome, writeAudit, writeAuditCsvHeader, type AuditFormat } from '../render/audit-output.js';
import type { Output } from '../render/output.js';

export type { AuditFormat } from '../render/audit-output.js';

/** What the command is told to do, parsed and checked (the CLI reads it from flags). */
export interface AuditSpec {
  domains: string[];
  settings: AuditSettings;
  format: AuditFormat;
  /** The findings of a previous --json report, with --baseline. */
  baseline: BaselineFindings | undefined;
  /** --domains: audits at once. */
  concurrency: number;
  quiet: boolean;
  verbose: boolean;
}

type BaselineFindings = NonNullable<ReturnType<typeof baselineFindings>>;

/**
 * `smtpkit audit DOMAIN`: the whole mail setup of a domain judged (DNS, DNSSEC, SPF/DMARC/
 * DKIM/MTA-STS/TLS-RPT, TLS per MX, hardening), as text, JSON, HTML or CSV; many domains
 * with --domains, streamed as each finishes, the worst exit code winning.
 */
export async function audit(spec: Readonly<AuditSpec>, output: Output): Promise<number> {
  if (spec.domains.length === 1) {
    const report = await runAudit({ ...spec.settings, domain: spec.domains[0]! });
    const changes = spec.baseline
      ? compareBaseline({ findings: spec.baseline as AuditReport['findings'] }, report)
      : null;
    const outcome = auditOutcome(report, changes, auditExitCode(report, changes?.some((c) => c.worse) ?? false));
    writeAudit(output, spec, report, outcome, changes, true);
    return outcome.exitCode;
  }
  if (spec.format === 'csv') writeAuditCsvHeader(output);
  let worst = 0;
  await auditEach(spec.domains, spec.settings, spec.concurrency, (report) => {
    const outcome = auditOutcome(report, null, auditExitCode(report, false));
    worst = Math.max(worst, outcome.exitCode);
    writeAudit(output, spec, report, outcome, null, false);
  });
  return worst;
}
