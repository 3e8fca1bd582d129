import type { AuditContext } from './context.js';
import type { AuditGroup, AuditStatus } from './result.js';

/** One verdict of a check; `fix` falls back to the check's own. */
export interface Verdict {
  status: AuditStatus;
  summary: string;
  subject?: string;
  evidence?: string[];
  fix?: string;
}

/** A check is a value in the table: what it judges, where the rule comes from, and how. */
export interface AuditCheck {
  group: AuditGroup;
  name: string;
  title: string;
  reference: string;
  /** What to change when it fails or warns. */
  fix: string;
  run(ctx: AuditContext): Promise<Verdict | Verdict[]>;
}

export { NotTested } from './not-tested.js';
export type { AuditOptions } from './options.js';
