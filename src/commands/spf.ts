import { ExitCode, usageError } from '../errors.js';
import { parseDomain } from '../dns/domain.js';
import { Resolver, type ResolverFlags } from '../dns/resolver.js';
import { readOption } from '../flows/options.js';
import { failureOutcome } from '../flows/run.js';
import { assertSingleLine } from '../protocol/command.js';
import { jsonDocument } from '../render/json.js';
import type { Outcome } from '../render/outcome.js';
import { processOutput } from '../render/output.js';
import { classified, writeBareFailure } from '../render/print-outcome.js';
import { printable } from '../render/printable.js';
import { renderSpf, type SpfSubject } from '../render/spf.js';
import { clientAddress } from '../spf/address.js';
import { checkHost, type SpfVerdict } from '../spf/check-host.js';
import { resolverPort } from '../spf/dns-port.js';

export interface SpfFlags extends ResolverFlags {
  ip?: string;
  sender?: string;
  helo?: string;
  json?: boolean;
  quiet?: boolean;
  color?: boolean;
}

/** `smtpkit spf DOMAIN --ip ADDR`: the SPF result a receiver computes, with how it got there. */
export async function spf(domainArg: string, flags: SpfFlags): Promise<number> {
  const startedAt = new Date().toISOString();
  let subject: SpfSubject | undefined;
  let verdict: SpfVerdict | undefined;
  let outcome: Outcome;
  try {
    subject = subjectOf(domainArg, flags);
    const ca = flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined;
    const dns = resolverPort(Resolver.fromFlags(flags, ca));
    verdict = await checkHost(dns, {
      ip: subject.ip,
      domain: subject.domain,
      sender: subject.sender,
      helo: subject.helo,
    });
    // Any computed result is data (exit 0); only a temperror because no DNS server answered at all is exit 3.
    const unasked = verdict.result === 'temperror' && verdict.dnsUnreachable;
    const message = `SPF ${verdict.result} for ${subject.ip} sending as ${subject.domain}${unasked ? ': no DNS server answered' : ''}`;
    outcome = unasked
      ? { ok: false, exitCode: ExitCode.dns, message, errorClass: 'dns' }
      : { ok: true, exitCode: ExitCode.ok, message };
  } catch (err) {
    outcome = failureOutcome(err);
  }
  outcome = classified(outcome);
  const output = await processOutput(flags);
  if (flags.json) {
    const spfResult =
      verdict && subject
        ? {
            ...subject,
            result: verdict.result,
            reason: verdict.reason,
            explanation: verdict.explanation ?? null,
            lookups: verdict.lookups,
            voidLookups: verdict.voidLookups,
            trace: verdict.trace,
          }
        : null;
    output.stdout.write(jsonDocument('spf', domainArg, outcome, { startedAt, result: { spf: spfResult } }));
  } else if (flags.quiet || outcome.errorClass === 'usage') {
    writeBareFailure(output, 'spf', outcome, flags);
  } else {
    const c = output.paint;
    if (verdict && subject) output.stdout.write(renderSpf(subject, verdict, c));
    if (!outcome.ok) output.stderr.write(`${c.red.bold(`*** ${printable(outcome.message)}`)}\n`);
  }
  return outcome.exitCode;
}

/**
 * What to check. DOMAIN is check_host()'s domain; --sender (default postmaster@DOMAIN)
 * gives the macros %{s} %{l} %{o}. The null sender ('<>') is the HELO identity (RFC 7208
 * §2.4): postmaster at the HELO name (--helo, default DOMAIN).
 */
function subjectOf(domainArg: string, flags: SpfFlags): SpfSubject {
  const domain = parseDomain(domainArg);
  if (flags.ip === undefined) throw usageError('give the client address to judge: --ip ADDR (IPv4 or IPv6)');
  const ip = clientAddress(flags.ip.trim());
  if (!ip) throw usageError(`--ip ${JSON.stringify(flags.ip)} is not an IPv4 or IPv6 address`);
  const mapped = ip.family === 4 && flags.ip.includes(':') ? { mappedFrom: flags.ip.trim() } : {};
  const helo = flags.helo === undefined ? undefined : assertSingleLine(flags.helo.trim(), '--helo');
  if (helo !== undefined && (!helo || /\s/.test(helo)))
    throw usageError(`--helo must be one word (a host name), got ${JSON.stringify(flags.helo)}`);
  const raw =
    flags.sender === undefined
      ? `postmaster@${domain}`
      : assertSingleLine(flags.sender.trim(), '--sender').replace(/^<(.*)>$/, '$1');
  if (!raw) return { domain, ip: ip.text, ...mapped, sender: `postmaster@${helo ?? domain}`, helo, identity: 'helo' };
  if (!raw.includes('@') || /\s/.test(raw))
    throw usageError(
      `--sender ${JSON.stringify(flags.sender)}: give the MAIL FROM address (local@domain), or '<>' for the null sender`,
    );
  // §4.3: a sender with no local part is postmaster at its domain.
  return {
    domain,
    ip: ip.text,
    ...mapped,
    sender: raw.startsWith('@') ? `postmaster${raw}` : raw,
    helo,
    identity: 'mfrom',
  };
}
