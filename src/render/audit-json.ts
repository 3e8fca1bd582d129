import type { AuditReport, AuditChange } from './audit-report.js';
import { jsonDocument } from './json.js';
import type { Outcome } from './outcome.js';

/**
 * The audit's JSON document (README "A mail audit": the schema): the common envelope, then
 * `report` (the findings and scores, AuditReport) and `changes` (null without --baseline).
 */
export function auditJson(r: AuditReport, outcome: Outcome, changes: AuditChange[] | null): string {
  return jsonDocument('audit', r.domain, outcome, { report: r, changes });
}

/** One line per domain for --domains (JSON lines): the same document, unindented. */
export function auditJsonLine(r: AuditReport, outcome: Outcome, changes: AuditChange[] | null): string {
  return jsonDocument('audit', r.domain, outcome, { report: r, changes }, 0);
}
