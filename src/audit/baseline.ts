import { findingKey, type AuditChange, type AuditFinding, type AuditReport, type AuditStatus } from './result.js';

export type { AuditChange };

const RANK: Record<AuditStatus, number> = { pass: 2, warn: 1, fail: 0, 'not-tested': -1 };

/**
 * Compares by check and subject. Worse: a tested verdict dropped (pass → warn or fail,
 * warn → fail). A check that is gone, or now not tested, is listed but not counted worse
 * (a lab may be down).
 */
export function compareBaseline(previous: Pick<AuditReport, 'findings'>, current: AuditReport): AuditChange[] {
  const before = new Map(previous.findings.map((f) => [findingKey(f), f] as const));
  const after = new Map(current.findings.map((f) => [findingKey(f), f] as const));
  const out: AuditChange[] = [];
  for (const [key, f] of after) {
    const b = before.get(key);
    if (b?.status === f.status) continue;
    out.push({
      key,
      title: f.title,
      before: b?.status ?? null,
      after: f.status,
      worse: !!b && RANK[b.status] >= 0 && RANK[f.status] >= 0 && RANK[f.status] < RANK[b.status],
    });
  }
  for (const [key, b] of before)
    if (!after.has(key)) out.push({ key, title: b.title, before: b.status, after: null, worse: false });
  return out;
}

/** A previous --json document (or its report), checked enough to compare with. */
export function baselineFindings(
  doc: unknown,
): Pick<AuditFinding, 'group' | 'check' | 'subject' | 'status' | 'title'>[] | undefined {
  const report = (doc as { report?: unknown })?.report ?? doc;
  const list = (report as { findings?: unknown })?.findings;
  if (!Array.isArray(list)) return undefined;
  const ok = list.every(
    (f) =>
      f &&
      typeof f.group === 'string' &&
      typeof f.check === 'string' &&
      (f.subject === null || typeof f.subject === 'string') &&
      typeof f.status === 'string' &&
      Object.hasOwn(RANK, f.status),
  );
  return ok ? (list as AuditFinding[]) : undefined;
}
