import { adCaveat, DnsFailure, describeEde, type Resolver } from '../../dns/resolver.js';
import type { RecordType } from '../../dns/transport.js';
import type { AuditCheck, Verdict } from '../check.js';
import { refusedTarget } from './refused-target.js';

/**
 * Signed and valid, as a validating resolver says: the AD bit on an answer asked with DO
 * (RFC 4035 §3.2.3). Bogus data is a SERVFAIL; the resolver's Extended DNS Error
 * (RFC 8914) names why, and the verdict carries it.
 */
async function validated(resolver: Resolver, name: string, type: RecordType, subject?: string): Promise<Verdict> {
  const at = subject ? { subject } : {};
  try {
    const a = await resolver.query(name, type, { dnssec: true });
    const caveat = adCaveat(a.response);
    const evidence = [
      `${type} ${name}: ${a.records.length} record(s), AD ${a.authenticated ? 'set' : 'not set'} by ${a.response.server}`,
      ...(caveat ? [caveat] : []),
    ];
    return a.authenticated
      ? { ...at, status: 'pass', summary: `${name} is signed and validates (AD from ${a.response.server})`, evidence }
      : {
          ...at,
          status: 'fail',
          summary: `${name}: the answer is not DNSSEC-validated (no AD bit): the zone is unsigned, or the resolver does not validate`,
          evidence,
        };
  } catch (err) {
    if (!(err instanceof DnsFailure)) throw err;
    const bogus = err.info.ede.some((e) => e.code >= 6 && e.code <= 12);
    return {
      ...at,
      status: 'fail',
      summary: `${name}: ${bogus ? 'DNSSEC validation failed (bogus)' : 'the look-up failed'}: ${err.info.rcode ?? 'no answer'}${err.info.ede.length ? `, ${describeEde(err.info.ede)}` : ' (the resolver gave no Extended DNS Error)'}`,
      evidence: [err.message],
      ...(bogus
        ? {
            fix: 're-sign the zone (expired or broken signatures) or fix the DS record at the parent so it matches the zone’s key',
          }
        : {}),
    };
  }
}

export const dnssecChecks: AuditCheck[] = [
  {
    group: 'dnssec',
    name: 'dnssec-domain',
    title: 'DNSSEC of the domain',
    reference: 'RFC 4033, RFC 4035; internet.nl: DNSSEC of the e-mail address domain',
    fix: 'sign the zone and publish its DS record at the parent (ask the registrar)',
    run: (ctx) => validated(ctx.options.resolver, ctx.domain, 'MX'),
  },
  {
    group: 'dnssec',
    name: 'dnssec-mx',
    title: 'DNSSEC of each MX host’s zone',
    reference: 'RFC 4035; RFC 7672 §2.2 (DANE needs it); internet.nl: DNSSEC of the mail server domains',
    fix: 'sign the zone that holds the MX host names and publish its DS record at the parent',
    async run(ctx) {
      const hosts = await ctx.mailHosts();
      return Promise.all(
        hosts.map((h) => refusedTarget(h) ?? validated(ctx.options.resolver, h.exchange, 'A', h.exchange)),
      );
    },
  },
];
