import type { AuditReport } from './audit-report.js';
import { printable } from './printable.js';

export const AUDIT_CSV_HEADER = 'domain,group,check,subject,status,summary,reference,fix\r\n';

/**
 * One field as RFC 4180 quotes it, controls shown as \xNN, and a leading = + - @ (or TAB,
 * CR) made inert with a quote mark so a spreadsheet never runs a server's text as a formula.
 */
function field(v: string | null): string {
  const text = printable(v ?? '');
  const inert = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${inert.replace(/"/g, '""')}"`;
}

/** The findings as CSV rows (CRLF line ends, RFC 4180), without the header. */
export function auditCsvRows(r: AuditReport): string {
  return r.findings
    .map(
      (f) =>
        [r.domain, f.group, f.check, f.subject, f.status, f.summary, f.reference, f.fix].map(field).join(',') + '\r\n',
    )
    .join('');
}
