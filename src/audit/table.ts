import type { AuditCheck } from './check.js';
import { authenticityChecks } from './checks/authenticity.js';
import { caaCheck, nsIpv6Check } from './checks/caa-ns.js';
import { dnsChecks } from './checks/dns.js';
import { dnssecChecks } from './checks/dnssec.js';
import { hardeningChecks } from './checks/hardening.js';
import { rpkiCheck } from './checks/rpki.js';
import { smugglingCheck } from './checks/smuggling.js';
import { transportChecks } from './checks/transport.js';
import { GROUPS } from './result.js';

/** Every check of the audit, in report order (group by group). */
export const AUDIT_CHECKS: readonly AuditCheck[] = [
  ...dnsChecks,
  nsIpv6Check,
  caaCheck,
  rpkiCheck,
  ...dnssecChecks,
  ...authenticityChecks,
  ...transportChecks,
  ...hardeningChecks,
  smugglingCheck,
].sort((a, b) => GROUPS.indexOf(a.group) - GROUPS.indexOf(b.group));
