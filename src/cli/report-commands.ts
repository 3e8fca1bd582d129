import { isIP } from 'node:net';
import { usageError, type Outcome } from '../errors.js';
import { authservIdProblem } from '../auth/authentication-results.js';
import { parseDomain } from '../dns/domain.js';
import { dnsblZones } from '../dns/checks/dnsbl.js';
import { assertSingleLine, commandVerb } from '../protocol/command.js';
import { parsePort } from '../protocol/target.js';
import { failureOutcome } from '../render/failure.js';
import { processOutput } from '../render/output.js';
import { writeReport, type Report } from '../render/report.js';
import type { SpfSubject } from '../render/spf.js';
import { clientAddress } from '../spf/address.js';
import { readSmallFile } from '../util/read-file.js';
import { declaredDefault, type OptionSpec } from './declare.js';
import { openInput } from './message-input.js';
import { outputSpec, type OutputFlags } from './groups/output.js';
import { resolverSpec, type ResolverFlags } from './groups/resolver.js';

/*
 * The commands that report findings (mx-lookup, spf, dkim-verify, check-message, explain):
 * each reads its flags into a typed spec here, runs, and ends in the one report printer.
 * A mistake found while reading is reported like any failure of the run.
 */

interface ReportFlags extends OutputFlags, ResolverFlags {
  caFile?: string;
}

/** Reads the spec, runs, and writes the report (a failure before or during the run included). */
async function runReport<S, R>(
  flags: OutputFlags,
  read: () => S | Promise<S>,
  run: (spec: S) => Promise<R>,
  report: (result: R | undefined, failed: Outcome | undefined) => Report,
  failed: (err: unknown) => Outcome = failureOutcome,
): Promise<number> {
  const show = outputSpec(flags);
  let result: R | undefined;
  let failure: Outcome | undefined;
  try {
    result = await run(await read());
  } catch (err) {
    failure = failed(err);
  }
  return writeReport(await processOutput(show), show, report(result, failure));
}

/** --ca-file of a report command: for DoH servers (and mx-lookup's MTA-STS policy server). */
const caOf = (flags: ReportFlags) => (flags.caFile ? readSmallFile(flags.caFile, '--ca-file') : undefined);

export async function mxLookup(
  domainArg: string,
  flags: ReportFlags & {
    ptr?: boolean;
    checks?: boolean;
    dnsbl?: true | string[];
    dkimSelector?: string[];
    httpsPort?: string;
  },
  options: readonly OptionSpec[],
): Promise<number> {
  const startedAt = new Date().toISOString();
  const m = await import('../commands/mx-lookup.js');
  return runReport(
    flags,
    async () => {
      const domain = parseDomain(domainArg);
      const resolver = await resolverSpec(flags, caOf(flags));
      const zones = dnsblZones(flags.dnsbl);
      const { parseSelector } = await import('../dkim/sign.js');
      return {
        domain,
        resolver,
        zones,
        selectors: flags.dkimSelector?.map(parseSelector),
        ptr: !!flags.ptr,
        checks: !!flags.checks,
        httpsPort:
          flags.checks && flags.httpsPort ? parsePort(flags.httpsPort) : Number(declaredDefault(options, 'https-port')),
      };
    },
    m.mxLookup,
    (r, failed) => m.mxLookupReport(domainArg, startedAt, !!flags.checks, r, failed),
    m.mxFailureOutcome,
  );
}

export async function spf(
  domainArg: string,
  flags: ReportFlags & { ip?: string; sender?: string; helo?: string },
): Promise<number> {
  const startedAt = new Date().toISOString();
  const m = await import('../commands/spf.js');
  return runReport(
    flags,
    async () => ({ subject: spfSubject(domainArg, flags), resolver: await resolverSpec(flags, caOf(flags)) }),
    m.spf,
    (r, failed) => m.spfReport(domainArg, startedAt, r, failed),
  );
}

/**
 * What to check. DOMAIN is check_host()'s domain; --sender (default postmaster@DOMAIN)
 * gives the macros %{s} %{l} %{o}. The null sender ('<>') is the HELO identity (RFC 7208
 * §2.4): postmaster at the HELO name (--helo, default DOMAIN).
 */
function spfSubject(domainArg: string, flags: { ip?: string; sender?: string; helo?: string }): SpfSubject {
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

export async function dkimVerify(file: string, flags: ReportFlags): Promise<number> {
  const startedAt = new Date().toISOString();
  const m = await import('../commands/dkim-verify.js');
  return runReport(
    flags,
    async () => {
      const resolver = await resolverSpec(flags, caOf(flags));
      return { resolver, input: await openInput(file) };
    },
    m.dkimVerify,
    (r, failed) => m.dkimVerifyReport(file, startedAt, r, failed),
  );
}

export async function checkMessage(
  file: string,
  flags: ReportFlags & { ip?: string; helo?: string; mailFrom?: string; authservId?: string },
  options: readonly OptionSpec[],
): Promise<number> {
  const startedAt = new Date().toISOString();
  const m = await import('../commands/check-message.js');
  return runReport(
    flags,
    async () => {
      const session = receivedSession(flags, options);
      const resolver = await resolverSpec(flags, caOf(flags));
      return { session, resolver, input: await openInput(file) };
    },
    m.checkMessageCommand,
    (r, failed) => m.checkMessageReport(file, startedAt, r, failed),
  );
}

/** check-message: what the receiver knew of the SMTP session, and its own name. */
function receivedSession(
  flags: { ip?: string; helo?: string; mailFrom?: string; authservId?: string },
  options: readonly OptionSpec[],
): { ip?: string; helo?: string; mailFrom?: string; authservId: string } {
  const o: { ip?: string; helo?: string; mailFrom?: string; authservId: string } = {
    authservId: flags.authservId ?? declaredDefault(options, 'authserv-id'),
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

/** A bounce is a few KiB; more than this is not something pasted. */
const MAX_STDIN_BYTES = 4 * 1024 * 1024;

export async function explain(words: string[], flags: { command?: string; json?: boolean; color?: boolean }) {
  const show = outputSpec(flags);
  const output = await processOutput(show);
  const m = await import('../commands/explain.js');
  try {
    const command = flags.command ? commandVerb(flags.command) : '';
    const fromStdin = (words.length === 1 && words[0] === '-') || (!words.length && !process.stdin.isTTY);
    if (!words.length && !fromStdin)
      throw usageError(
        'give a reply to explain (550 5.7.1), or a bounce on standard input: smtpkit explain - < bounce.eml',
      );
    const text = fromStdin ? await readStdin() : words.join(' ');
    return m.explain({ text, command }, show, output);
  } catch (err) {
    return m.explainFailure(failureOutcome(err), show, output);
  }
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_STDIN_BYTES)
      throw usageError(
        `standard input is over ${MAX_STDIN_BYTES / 1024 / 1024} MiB: give the bounce message, not a mailbox`,
      );
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}
