import type { Outcome } from '../errors.js';
import { checkMessage, type CheckMessageResult, type SpfEvaluator } from '../auth/check-message.js';
import { Resolver } from '../dns/resolver.js';
import type { TransportOptions } from '../dns/transport.js';
import { checkHost } from '../spf/check-host.js';
import { resolverPort } from '../spf/dns-port.js';
import { renderCheckMessage } from '../render/check-message.js';
import { plainFailure, type Report } from '../render/report.js';

/** The SPF evaluator: RFC 7208 check_host() over the same resolver. */
const spfEvaluator =
  (resolver: Resolver): SpfEvaluator =>
  (ip, domain, sender, helo) =>
    checkHost(resolverPort(resolver), { ip, domain, sender, helo });

export interface CheckMessageSpec {
  /** The message, as read from the file or standard input. */
  input: AsyncIterable<Buffer>;
  resolver: Readonly<TransportOptions>;
  /** What the receiver knew of the session (default: from the topmost Received: field) and its name. */
  session: { ip?: string; helo?: string; mailFrom?: string; authservId: string };
}

export interface CheckMessageRun {
  result: CheckMessageResult;
  outcome: Outcome;
}

/** `smtpkit check-message FILE|-`: what a receiver computes for a received message (SPF, DKIM, DMARC, ARC). */
export async function checkMessageCommand(spec: Readonly<CheckMessageSpec>): Promise<CheckMessageRun> {
  const resolver = new Resolver(spec.resolver);
  const r = await checkMessage(spec.input, { resolver, spf: spfEvaluator(resolver), ...spec.session });
  const temp = [
    r.spf.result === 'temperror' ? 'SPF' : '',
    r.dkim.some((d) => d.result === 'temperror') ? 'DKIM' : '',
    r.dmarc.result === 'temperror' ? 'DMARC' : '',
  ].filter(Boolean);
  const exitCode = temp.length ? 3 : 0;
  const message = `${temp.length ? `a DNS failure left ${temp.join(', ')} unknown; ` : ''}SPF ${r.spf.result}, DKIM ${r.dkim.length ? r.dkim.map((d) => d.result).join('/') : 'none'}, DMARC ${r.dmarc.result}${r.dmarc.result === 'fail' ? ` (disposition: ${r.dmarc.disposition})` : ''}, ARC ${r.arc.result}`;
  return { result: r, outcome: { ok: exitCode === 0, exitCode, message } };
}

export function checkMessageReport(
  file: string,
  startedAt: string,
  run: CheckMessageRun | undefined,
  failed?: Outcome,
): Report {
  const result = run?.result;
  return {
    command: 'check-message',
    target: file,
    outcome: failed ? plainFailure(failed) : run!.outcome,
    fields: {
      startedAt,
      result: result
        ? {
            fromDomain: result.fromDomain ?? null,
            received: result.received ?? null,
            spf: result.spf,
            dkim: result.dkim,
            dmarc: result.dmarc,
            arc: result.arc,
            authenticationResults: result.authenticationResults,
          }
        : null,
    },
    text: (c) => (result ? renderCheckMessage(result, c) : ''),
    bare: !result,
  };
}
