import { isIP } from 'node:net';
import { usageError } from '../errors.js';
import { checkMessage, type CheckMessageResult, type SpfEvaluator } from '../auth/check-message.js';
import { authservIdProblem } from '../auth/authentication-results.js';
import { Resolver, type ResolverFlags } from '../dns/resolver.js';
import { checkHost } from '../spf/check-host.js';
import { resolverPort } from '../spf/dns-port.js';
import { renderCheckMessage } from '../render/check-message.js';
import { jsonDocument } from '../render/json.js';
import { processOutput } from '../render/output.js';
import { printable } from '../render/printable.js';
import { readOption } from '../flows/options.js';
import { openInput } from '../flows/message-input.js';
import { failureOutcome } from '../flows/run.js';
import { classified, writeBareFailure } from '../render/print-outcome.js';
import type { Outcome } from '../render/outcome.js';

export interface CheckMessageFlags extends ResolverFlags {
  ip?: string;
  helo?: string;
  mailFrom?: string;
  authservId?: string;
  json?: boolean;
  quiet?: boolean;
  color?: boolean;
}

/** The SPF evaluator: RFC 7208 check_host() over the same resolver. */
const spfEvaluator =
  (resolver: Resolver): SpfEvaluator =>
  (ip, domain, sender, helo) =>
    checkHost(resolverPort(resolver), { ip, domain, sender, helo });

/** `smtpkit check-message FILE|-`: what a receiver computes for a received message (SPF, DKIM, DMARC, ARC). */
export async function checkMessageCommand(file: string, flags: CheckMessageFlags): Promise<number> {
  const startedAt = new Date().toISOString();
  let result: CheckMessageResult | undefined;
  let exitCode = 0;
  let message: string;
  let errorClass: Outcome['errorClass'];
  try {
    const o = parseFlags(flags);
    const ca = flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined;
    const resolver = Resolver.fromFlags(flags, ca);
    result = await checkMessage(await openInput(file), { resolver, spf: spfEvaluator(resolver), ...o });
    const r = result;
    const temp = [
      r.spf.result === 'temperror' ? 'SPF' : '',
      r.dkim.some((d) => d.result === 'temperror') ? 'DKIM' : '',
      r.dmarc.result === 'temperror' ? 'DMARC' : '',
    ].filter(Boolean);
    if (temp.length) exitCode = 3;
    message = `${temp.length ? `a DNS failure left ${temp.join(', ')} unknown; ` : ''}SPF ${r.spf.result}, DKIM ${r.dkim.length ? r.dkim.map((d) => d.result).join('/') : 'none'}, DMARC ${r.dmarc.result}${r.dmarc.result === 'fail' ? ` (disposition: ${r.dmarc.disposition})` : ''}, ARC ${r.arc.result}`;
  } catch (err) {
    const o = failureOutcome(err);
    exitCode = o.exitCode;
    message = o.message;
    errorClass = o.errorClass;
  }
  const ok = exitCode === 0;
  const outcome = classified({ ok, exitCode, message, ...(errorClass ? { errorClass } : {}) });
  const output = await processOutput(flags);
  if (flags.json) {
    output.stdout.write(
      jsonDocument('check-message', file, outcome, {
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
      }),
    );
  } else if (flags.quiet || !result) {
    writeBareFailure(output, 'check-message', outcome, flags);
  } else {
    const c = output.paint;
    output.stdout.write(renderCheckMessage(result, c));
    if (ok) output.stdout.write(`${c.green.bold(`=== ${printable(message)}`)}\n`);
    else output.stderr.write(`${c.red.bold(`*** ${printable(message)}`)}\n`);
  }
  return exitCode;
}

function parseFlags(flags: CheckMessageFlags): { ip?: string; helo?: string; mailFrom?: string; authservId: string } {
  const o: { ip?: string; helo?: string; mailFrom?: string; authservId: string } = {
    authservId: flags.authservId ?? 'smtpkit',
  };
  const problem = authservIdProblem(o.authservId);
  if (problem) throw usageError(`--authserv-id ${JSON.stringify(o.authservId)}: ${problem}`);
  if (flags.ip !== undefined) {
    const ip = flags.ip.replace(/^\[(?:IPv6:)?|\]$/gi, '');
    if (!isIP(ip)) throw usageError(`--ip ${JSON.stringify(flags.ip)}: give the client's IPv4 or IPv6 address`);
    o.ip = ip;
  }
  if (flags.helo !== undefined) {
    if (!/^[\x21-\x7e\u0080-\uffff]{1,255}$/.test(flags.helo))
      throw usageError(
        `--helo ${JSON.stringify(flags.helo)}: give the name the client sent with HELO/EHLO (no spaces or control characters)`,
      );
    o.helo = flags.helo;
  }
  if (flags.mailFrom !== undefined) {
    const v = flags.mailFrom.replace(/^<(.*)>$/, '$1');
    if (/[\s\x00-\x1f\x7f<>]/.test(v) || (v && !/^[^@]*@[^@]+$/.test(v)))
      throw usageError(
        `--mail-from ${JSON.stringify(flags.mailFrom)}: give the envelope sender as local@domain, or <> for the null sender`,
      );
    o.mailFrom = v;
  }
  return o;
}
