import type { Outcome } from '../errors.js';
import type { Finding } from '../dns/checks/finding.js';
import { inspectMailDomain } from '../dns/mail-domain.js';
import type { MxReport } from '../dns/mx.js';
import { DnsFailure, Resolver } from '../dns/resolver.js';
import type { TransportOptions } from '../dns/transport.js';
import { failureOutcome } from '../render/failure.js';
import { renderMx } from '../render/mx.js';
import { plainFailure, type Report } from '../render/report.js';

export interface MxLookupSpec {
  domain: string;
  resolver: Readonly<TransportOptions>;
  /** Reverse DNS of each address. */
  ptr: boolean;
  /** Judge the mail-security records too (SPF, DMARC, MTA-STS, TLS-RPT, DANE, DKIM). */
  checks: boolean;
  /** DKIM selectors to judge (--checks without them tries common ones). */
  selectors: string[] | undefined;
  /** DNS blocklists to check each MX address on. */
  zones: string[];
  /** The MTA-STS policy server's port (443; test beds use another). */
  httpsPort: number;
}

export interface MxLookupResult {
  report: MxReport | undefined;
  findings: Finding[];
  outcome: Outcome;
}

/** `smtpkit mx-lookup <domain>`: the mail hosts, their addresses, and with --checks the mail-security records. */
export async function mxLookup(spec: Readonly<MxLookupSpec>): Promise<MxLookupResult> {
  const { domain } = spec;
  const r = await inspectMailDomain(new Resolver(spec.resolver), domain, {
    ...spec,
    https: { ca: spec.resolver.ca, port: spec.httpsPort },
  });
  const found = { report: r.mx, findings: r.findings };
  if (r.failure !== undefined || !r.mx) return { ...found, outcome: mxFailureOutcome(r.failure) };
  const problems =
    r.mx.hosts.reduce((n, h) => n + h.problems.length, 0) + r.findings.filter((f) => f.status === 'fail').length;
  const message =
    r.mx.kind === 'null'
      ? `${domain} publishes a null MX (RFC 7505): it accepts no mail`
      : `${domain}: ${r.mx.hosts.length} mail host${r.mx.hosts.length === 1 ? '' : 's'}${r.mx.kind === 'implicit' ? ' (no MX: the domain itself, as RFC 5321 §5.1 says)' : ''}${problems ? `, ${problems} problem${problems === 1 ? '' : 's'}` : ''}`;
  return { ...found, outcome: { ok: !problems, exitCode: problems ? 1 : 0, message } };
}

/** A failure as mx-lookup says it: with the DNS failure's details as data. */
export function mxFailureOutcome(err: unknown): Outcome {
  const o = plainFailure(failureOutcome(err));
  return err instanceof DnsFailure ? { ...o, dnsError: err.info } : o;
}

export function mxLookupReport(
  domainArg: string,
  startedAt: string,
  checks: boolean,
  r: MxLookupResult | undefined,
  failed?: Outcome,
): Report {
  const { report = undefined, findings = [] } = r ?? {};
  return {
    command: 'mx-lookup',
    target: domainArg,
    outcome: failed ?? r!.outcome,
    fields: { domain: domainArg, startedAt, mx: report ?? null, checks: checks || findings.length ? findings : null },
    text: (c) => (report || findings.length ? renderMx(report, findings, c) : ''),
  };
}
