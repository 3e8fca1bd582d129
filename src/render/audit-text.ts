import {
  GROUP_TITLES,
  SEVERITY,
  type AuditFinding,
  type AuditReport,
  type AuditStatus,
  type AuditChange,
  testedText,
} from './audit-report.js';
import type { Paint } from './paint.js';
import { printable } from './printable.js';

export const AUDIT_MARKS: Record<AuditStatus, string> = { pass: '✔', warn: '⚠', fail: '✖', 'not-tested': '–' };

const scoreText = (s: number | null) => (s === null ? 'no score' : `${s}/100`);

/** "Title (subject)": how one finding is named on a line. */
export const findingName = (f: AuditFinding) => `${f.title}${f.subject ? ` — ${f.subject}` : ''}`;

/**
 * The report for a person: the overall score, the worst findings first (fails, then
 * warnings, each with its fix), then every group with its score and one line per check.
 */
export function auditText(r: AuditReport, c: Paint, opts: { verbose?: boolean; changes?: AuditChange[] } = {}): string {
  const paint = (s: AuditStatus) => ({ pass: c.green, warn: c.yellow, fail: c.red, 'not-tested': c.dim })[s];
  const line = (f: AuditFinding) =>
    paint(f.status)(
      `  ${AUDIT_MARKS[f.status]} ${printable(findingName(f))}: ${f.status === 'not-tested' ? 'not tested: ' : ''}${printable(f.summary)}`,
    );
  const out: string[] = [];
  out.push(
    c.bold(
      `=== Mail audit of ${printable(r.domain)}${r.port !== 25 ? ` (SMTP port ${r.port})` : ''}: score ${scoreText(r.score)}, ${(r.durationMs / 1000).toFixed(1)} s`,
    ),
  );
  if (r.deadlineExceeded)
    out.push(c.red('!!! the audit ran out of time (--timeout): the checks it cut are marked not tested'));
  const worst = r.findings
    .filter((f) => f.status === 'fail' || f.status === 'warn')
    .sort((a, b) => SEVERITY[a.status] - SEVERITY[b.status]);
  if (worst.length) {
    out.push(c.bold('--- Worst findings first'));
    for (const f of worst) {
      out.push(line(f));
      if (f.fix) out.push(c.dim(`      fix: ${printable(f.fix)} (${printable(f.reference)})`));
    }
  }
  for (const g of r.groups) {
    out.push(
      c.bold(
        `--- ${GROUP_TITLES[g.group]}: ${scoreText(g.score)} (${testedText(g)}: ${g.pass} pass, ${g.warn} warn, ${g.fail} fail, ${g.notTested} not tested)`,
      ),
    );
    for (const f of r.findings.filter((x) => x.group === g.group)) {
      out.push(line(f));
      if (opts.verbose) for (const e of f.evidence) out.push(c.dim(`      ${printable(e)}`));
    }
  }
  if (opts.changes) out.push(...changesText(opts.changes, c));
  return `${out.join('\n')}\n`;
}

export function changesText(changes: AuditChange[], c: Paint): string[] {
  const say = (s: AuditStatus | null) => (s === null ? 'absent' : s);
  if (!changes.length) return [c.bold('--- Since the baseline: no change')];
  return [
    c.bold(
      `--- Since the baseline: ${changes.length} change${changes.length === 1 ? '' : 's'}, ${changes.filter((x) => x.worse).length} worse`,
    ),
    ...changes.map((x) =>
      (x.worse ? c.red : c.dim)(
        `  ${x.worse ? '✖ worse' : '  '} ${printable(x.key)}: ${say(x.before)} → ${say(x.after)}`,
      ),
    ),
  ];
}
