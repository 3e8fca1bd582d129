import type { AuditChange, AuditReport } from './audit-report.js';
import type { Outcome } from '../errors.js';
import { AUDIT_CSV_HEADER, auditCsvRows } from './audit-csv.js';
import { auditHtml } from './audit-html.js';
import { auditJson, auditJsonLine } from './audit-json.js';
import { auditText } from './audit-text.js';
import type { Output } from './output.js';
import { classified, writeQuiet } from './print-outcome.js';
import { printable } from './printable.js';

export type AuditFormat = 'text' | 'json' | 'html' | 'csv';

/** The outcome line of one audit: its score, failures and the baseline's verdict. */
export function auditOutcome(r: AuditReport, changes: AuditChange[] | null, exitCode: number): Outcome {
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

/** The CSV header, once, before the rows of every domain (--domains streams them). */
export const writeAuditCsvHeader = (output: Output) => output.data.write(Buffer.from(AUDIT_CSV_HEADER));

/** One report in the form asked for; `single` is false for --domains' streamed lines and rows. */
export function writeAudit(
  output: Output,
  show: { format: AuditFormat; quiet: boolean; verbose: boolean },
  r: AuditReport,
  outcome: Outcome,
  changes: AuditChange[] | null,
  single: boolean,
): void {
  if (show.format === 'json')
    output.stdout.write(single ? auditJson(r, outcome, changes) : auditJsonLine(r, outcome, changes));
  // CSV and HTML are products (CRLF rows, a file): written as they are, escaped by their renderers.
  else if (show.format === 'csv') output.data.write(Buffer.from(`${single ? AUDIT_CSV_HEADER : ''}${auditCsvRows(r)}`));
  else if (show.format === 'html') output.data.write(Buffer.from(auditHtml(r, changes)));
  else if (show.quiet) writeQuiet(output, outcome);
  else {
    const c = output.paint;
    output.stdout.write(auditText(r, c, { verbose: show.verbose, ...(changes ? { changes } : {}) }));
    const line = `${outcome.ok ? '===' : '***'} ${printable(outcome.message)}`;
    if (outcome.ok) output.stdout.write(`${c.green.bold(line)}\n`);
    else output.stderr.write(`${c.red.bold(line)}\n`);
  }
}
