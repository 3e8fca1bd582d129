import type { Resolver } from '../dns/resolver.js';
import type { AuditContext } from './context.js';
import type { AuditGroup, AuditStatus } from './result.js';

/** What the caller decides; defaults live in the CLI's declaration, not here. */
export interface AuditOptions {
  /** The domain, already checked (IDNA, no trailing dot). */
  domain: string;
  resolver: Resolver;
  /** Every SMTP probe goes to this port (25; another for test beds). */
  port: number;
  /** The whole audit ends by then, whatever the servers do. */
  timeoutMs: number;
  /** Each network wait of an SMTP session (connect, greeting, command, handshake). */
  waitMs: number;
  ehloName: string;
  /** Extra trusted CA (PEM) for the MTA-STS policy server and SMTP certificates. */
  ca?: string;
  /** Port of the MTA-STS policy server (443). */
  httpsPort: number;
  /** DKIM selectors whose keys are judged; none: common selectors are tried. */
  dkimSelectors: string[];
  /** DNS blocklists each MX address is looked up in. */
  dnsbl: string[];
  /** Parallel handshakes of the cipher scan. */
  scanConcurrency: number;
  /** At most this many MX hosts are probed (internet.nl: 10). */
  maxMx: number;
}

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

/** Thrown by a check that cannot judge: becomes "not tested" with this reason. */
export class NotTested extends Error {}

/** A check this version does not build: listed, never silently absent. */
export function notBuilt(group: AuditGroup, name: string, title: string, reference: string, what: string): AuditCheck {
  return {
    group,
    name,
    title,
    reference,
    fix: '',
    run: async () => ({ status: 'not-tested', summary: `not built in this version: ${what}` }),
  };
}
