import { auditFailed, runAudit } from '../audit/audit.js';
import { compareBaseline, type AuditChange, type baselineFindings } from '../audit/baseline.js';
import type { AuditSettings } from '../audit/options.js';
import type { AuditReport } from '../audit/result.js';
import { ExitCode } from '../errors.js';
import { AUDIT_CSV_HEADER, auditCsvRows } from '../render/audit-csv.js';
import { auditHtml } from '../render/audit-html.js';
import { auditJson, auditJsonLine } from '../render/audit-json.js';
import { auditText } from '../render/audit-text.js';
import type { Outcome } from '../render/outcome.js';
import type { Output } from '../render/output.js';
import { classified, writeQuiet } from '../render/print-outcome.js';

/** Exit code of one report: 3 when the domain did not resolve, 1 on a failed or worse check, else 0. */
function exitOf(r: AuditReport, changes: AuditChange[] | null): number {
  if (r.dnsError) return ExitCode.dns;
  return auditFailed(r) || changes?.some((c) => c.worse) ? 1 : 0;
}

function outcomeOf(r: AuditReport, changes: AuditChange[] | null): Outcome {
  const exitCode = exitOf(r, changes);
  const fails = r.findings.filter((f) => f.status === 'fail').length;
  const worse = changes?.filter((c) => c.worse).length ?? 0;
  const message = r.dnsError
    ? `${r.domain}: ${r.dnsError}`
    : `${r.domain}: ${r.score === null ? 'no score' : `score ${r.score}/100`}, ${fails} check${fails === 1 ? '' : 's'} failed${r.deadlineExceeded ? ', time limit reached' : ''}${changes ? `, ${worse} worse than the baseline` : ''}`;
  return classified({
    ok: exitCode === 0,
    exitCode,
    message,
    ...(r.dnsError ? { errorClass: 'dns' as const } : exitCode ? { errorClass: 'checkFailed' as const } : {}),
  });
}

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

export type AuditFormat = 'text' | 'json' | 'html' | 'csv';
type BaselineFindings = NonNullable<ReturnType<typeof baselineFindings>>;

/**
 * `smtpkit audit DOMAIN`: the whole mail setup of a domain judged (DNS, DNSSEC, SPF/DMARC/
 * DKIM/MTA-STS/TLS-RPT, TLS per MX, hardening), as text, JSON, HTML or CSV; many domains
 * with --domains, streamed as each finishes.
 */
export async function audit(spec: Readonly<AuditSpec>, output: Output): Promise<number> {
  if (spec.domains.length === 1) {
    const report = await runAudit({ ...spec.settings, domain: spec.domains[0]! });
    const changes = spec.baseline
      ? compareBaseline({ findings: spec.baseline as AuditReport['findings'] }, report)
      : null;
    const outcome = outcomeOf(report, changes);
    write(output, spec, report, outcome, changes, true);
    return outcome.exitCode;
  }
  return auditMany(spec, output);
}

function write(
  output: Output,
  spec: Readonly<AuditSpec>,
  r: AuditReport,
  outcome: Outcome,
  changes: AuditChange[] | null,
  single: boolean,
) {
  const format = spec.format;
  if (format === 'json')
    output.stdout.write(single ? auditJson(r, outcome, changes) : auditJsonLine(r, outcome, changes));
  // CSV and HTML are products (CRLF rows, a file): written as they are, escaped by their renderers.
  else if (format === 'csv') output.data.write(Buffer.from(`${single ? AUDIT_CSV_HEADER : ''}${auditCsvRows(r)}`));
  else if (format === 'html') output.data.write(Buffer.from(auditHtml(r, changes)));
  else if (spec.quiet) writeQuiet(output, outcome);
  else {
    output.stdout.write(auditText(r, output.paint, { verbose: spec.verbose, ...(changes ? { changes } : {}) }));
    const c = output.paint;
    const line = `${outcome.ok ? '===' : '***'} ${outcome.message}`;
    if (outcome.ok) output.stdout.write(`${c.green.bold(line)}\n`);
    else output.stderr.write(`${c.red.bold(line)}\n`);
  }
}

/** --domains: at most --concurrency audits at once, each written as it finishes; the worst exit wins. */
async function auditMany(spec: Readonly<AuditSpec>, output: Output): Promise<number> {
  const { domains } = spec;
  if (spec.format === 'csv') output.data.write(Buffer.from(AUDIT_CSV_HEADER));
  let next = 0;
  let worst = 0;
  const worker = async () => {
    while (next < domains.length) {
      const domain = domains[next++]!;
      const report = await runAudit({ ...spec.settings, domain });
      const outcome = outcomeOf(report, null);
      worst = Math.max(worst, outcome.exitCode);
      write(output, spec, report, outcome, null, false);
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.concurrency, domains.length) }, worker));
  return worst;
}
