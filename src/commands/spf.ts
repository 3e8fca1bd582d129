import { ExitCode, type Outcome } from '../errors.js';
import { Resolver } from '../dns/resolver.js';
import type { TransportOptions } from '../dns/transport.js';
import type { Report } from '../render/report.js';
import { renderSpf, type SpfSubject } from '../render/spf.js';
import { checkHost, type SpfVerdict } from '../spf/check-host.js';
import { resolverPort } from '../spf/dns-port.js';

export interface SpfSpec {
  /** Whose SPF, for which client address, sending as whom (src/cli/report-commands.ts reads it). */
  subject: SpfSubject;
  resolver: Readonly<TransportOptions>;
}

export interface SpfResult {
  subject: SpfSubject;
  verdict: SpfVerdict;
  outcome: Outcome;
}

/** `smtpkit spf DOMAIN --ip ADDR`: the SPF result a receiver computes, with how it got there. */
export async function spf(spec: Readonly<SpfSpec>): Promise<SpfResult> {
  const { subject } = spec;
  const verdict = await checkHost(resolverPort(new Resolver(spec.resolver)), {
    ip: subject.ip,
    domain: subject.domain,
    sender: subject.sender,
    helo: subject.helo,
  });
  // Any computed result is data (exit 0); only a temperror because no DNS server answered at all is exit 3.
  const unasked = verdict.result === 'temperror' && verdict.dnsUnreachable;
  const message = `SPF ${verdict.result} for ${subject.ip} sending as ${subject.domain}${unasked ? ': no DNS server answered' : ''}`;
  return {
    subject,
    verdict,
    outcome: unasked
      ? { ok: false, exitCode: ExitCode.dns, message, errorClass: 'dns' }
      : { ok: true, exitCode: ExitCode.ok, message },
  };
}

export function spfReport(domainArg: string, startedAt: string, r: SpfResult | undefined, failed?: Outcome): Report {
  const spfResult = r
    ? {
        ...r.subject,
        result: r.verdict.result,
        reason: r.verdict.reason,
        explanation: r.verdict.explanation ?? null,
        lookups: r.verdict.lookups,
        voidLookups: r.verdict.voidLookups,
        trace: r.verdict.trace,
      }
    : null;
  return {
    command: 'spf',
    target: domainArg,
    outcome: failed ?? r!.outcome,
    fields: { startedAt, result: { spf: spfResult } },
    text: (c) => (r ? renderSpf(r.subject, r.verdict, c) : ''),
    sayOk: false,
  };
}
