import { ExitCode, usageError } from '../errors.js';
import { dnsblZones } from '../dns/checks/dnsbl.js';
import { parseDomain } from '../dns/domain.js';
import { Resolver } from '../dns/resolver.js';
import type { AuthPlan } from '../flows/establish.js';
import type { ProbeSettings } from '../probe/probe.js';
import type { ProbeFormat, ProbeSpec } from '../commands/probe.js';
import { parsePort } from '../protocol/target.js';
import { failureOutcome } from '../render/failure.js';
import { processOutput, type Output } from '../render/output.js';
import { printable } from '../render/printable.js';
import { sessionOptionsFor } from '../session/for-target.js';
import { durationMs } from '../util/duration.js';
import { readSmallFile } from '../util/read-file.js';
import { declaredDefault, type OptionSpec } from './declare.js';
import { connectionBase, type ConnectionFlags } from './groups/connection.js';
import { planAuth, type LoginFlags } from './groups/login.js';
import { outputSpec, type OutputFlags } from './groups/output.js';
import { resolverSpec, type ResolverFlags } from './groups/resolver.js';
import { scanSpec } from './groups/scan.js';
import { checkSaveCert, saveCertificates } from './save-cert.js';

/** probe's command line as commander hands it over; read here, once, into a ProbeSpec. */
export interface ProbeFlags extends ConnectionFlags, OutputFlags, LoginFlags, ResolverFlags {
  targets?: string;
  mx?: string;
  concurrency?: string;
  format?: string;
  transcript?: boolean;
  strict?: boolean;
  expectBanner?: string;
  warnDays?: string;
  critDays?: string;
  warnMs?: string[];
  critMs?: string[];
  auth?: boolean;
  from?: string;
  rcpt?: string;
  relayTest?: boolean;
  ptr?: boolean;
  dnsbl?: true | string[];
  tlsScan?: boolean;
  enumTest?: boolean;
  scanConcurrency?: string;
  httpsPort?: string;
  dane?: boolean;
  /** check_smtp's names: -H, -w, -c, -e, -S, -D (-p and -t are smtpkit's own --port and --timeout). */
  hostname?: string[];
  warning?: string;
  critical?: string;
  expect?: string;
  requireStarttls?: boolean;
  certificate?: string;
}

/** `smtpkit probe a:25 b:587 ...`: bad input is said in the format asked for, before any probe. */
export async function probeCommand(args: string[], flags: ProbeFlags, options: readonly OptionSpec[]): Promise<number> {
  const show = outputSpec(flags);
  const format = (show.json ? 'json' : (flags.format ?? declaredDefault(options, 'format'))) as ProbeFormat;
  const output = await processOutput(show);
  const m = await import('../commands/probe.js');
  let spec: ProbeSpec;
  try {
    spec = await probeSpec(args, flags, format, output, options);
  } catch (err) {
    return m.probeFailed(output, format, failureOutcome(err), show.quiet);
  }
  return m.probeCommand(spec, output);
}

/** A mistake on a command line that asked for JSON or Nagios, said in that format (commander found it). */
export async function probeUsageError(format: string, message: string): Promise<number> {
  const { probeFailure } = await import('../probe/report.js');
  return probeFailure(
    await processOutput({ color: false }),
    format,
    { ok: false, exitCode: ExitCode.usage, errorClass: 'usage', message },
    false,
  );
}

async function probeSpec(
  args: string[],
  flags: ProbeFlags,
  format: ProbeFormat,
  output: Output,
  options: readonly OptionSpec[],
): Promise<ProbeSpec> {
  const settings = await probeSettings(flags, output, options);
  checkSaveCert(flags.saveCert);
  const concurrency = Number(flags.concurrency ?? declaredDefault(options, 'concurrency'));
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000)
    throw usageError('--concurrency takes a whole number from 1 to 1000');
  const base = connectionBase(flags);
  const targets = [...args, ...(flags.hostname ?? [])];
  if (flags.targets) {
    for (const line of readSmallFile(flags.targets, '--targets').split(/\r?\n/)) {
      const t = line.replace(/#.*/, '').trim();
      if (t) targets.push(t);
    }
  }
  // Every mistake is found before the first probe; thousands of option sets are not kept.
  for (const target of targets) sessionOptionsFor(target, base);
  const mx = flags.mx
    ? {
        domain: parseDomain(flags.mx),
        resolver: await resolverSpec(flags, base.tls.ca),
        httpsPort: parsePort(flags.httpsPort ?? declaredDefault(options, 'https-port')),
      }
    : undefined;
  if (!targets.length && !mx)
    throw usageError('give at least one target (host[:port]), --targets FILE, or --mx DOMAIN');
  const show = outputSpec(flags);
  return {
    format,
    strict: !!flags.strict,
    quiet: show.quiet,
    brief: show.brief,
    transcript: !!flags.transcript,
    settings,
    concurrency,
    targets,
    base,
    mx,
    saveCerts: flags.saveCert === undefined ? undefined : (chains) => void saveCertificates(flags.saveCert!, chains),
  };
}

/** check_smtp's -w/-c: seconds of response time, fractions allowed. */
function seconds(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value.trim()))
    throw usageError(`${option} takes seconds of response time, as check_smtp's does (0.5, 2)`);
  return Number(value) * 1000;
}

function thresholds(
  values: string[] | undefined,
  option: string,
  checkSmtp: { option: string; value: string | undefined },
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values ?? []) {
    const m = /^(?:([a-z-]+)=)?(\d+)$/.exec(v.trim());
    if (!m) throw usageError(`${option} takes milliseconds, for the total (500) or a phase (banner=200)`);
    out[m[1] ?? 'total'] = Number(m[2]);
  }
  const total = seconds(checkSmtp.value, checkSmtp.option);
  if (total !== undefined) out.total = total;
  return out;
}

/** check_smtp's -D WARN[,CRIT]: certificate days; without CRIT only the warning moves. */
function certificateDays(value: string | undefined): { warn?: string; crit?: string } {
  if (value === undefined) return {};
  const m = /^\s*(\d+)\s*(?:,\s*(\d+)\s*)?$/.exec(value);
  if (!m) throw usageError(`--certificate (-D) takes days: WARN or WARN,CRIT (30,14), not ${JSON.stringify(value)}`);
  return { warn: m[1], ...(m[2] !== undefined ? { crit: m[2] } : {}) };
}

async function probeSettings(
  flags: ProbeFlags,
  output: Output,
  options: readonly OptionSpec[],
): Promise<ProbeSettings> {
  const days = (v: string | undefined, d: number, option: string) => {
    if (v === undefined) return d;
    if (!/^\d+$/.test(v)) throw usageError(`${option} takes a number of days`);
    return Number(v);
  };
  let expectBanner: RegExp | undefined;
  try {
    expectBanner = flags.expectBanner ? new RegExp(flags.expectBanner) : undefined;
  } catch {
    throw usageError(`--expect-banner: ${JSON.stringify(flags.expectBanner)} is not a regular expression`);
  }
  // --enum-test may take --rcpt alone: the known address to compare with a random one.
  if ((flags.from === undefined) !== (flags.rcpt === undefined) && !(flags.enumTest && flags.from === undefined))
    throw usageError('--from and --rcpt go together');
  for (const [v, o] of [
    [flags.from, '--from'],
    [flags.rcpt, '--rcpt'],
  ] as const)
    if (v !== undefined && /[\r\n<>\s]/.test(v))
      throw usageError(`${o}: give a bare address (no <>, spaces or line breaks)`);
  const wantsAuth = flags.auth || flags.user !== undefined;
  const certDays = certificateDays(flags.certificate);
  if (flags.expect !== undefined && /[\r\n]/.test(flags.expect))
    throw usageError('--expect (-e): the greeting text to look for is one line');
  const dns =
    flags.ptr || flags.dnsbl || flags.dane
      ? await resolverSpec(flags, flags.caFile ? readSmallFile(flags.caFile, '--ca-file') : undefined)
      : undefined;
  return {
    expectBanner,
    ...(flags.expect !== undefined ? { expectText: flags.expect } : {}),
    requireStartTls: !!flags.requireStarttls || flags.starttls === 'always',
    warnDays: days(
      certDays.warn ?? flags.warnDays,
      Number(declaredDefault(options, 'warn-days')),
      certDays.warn ? '--certificate' : '--warn-days',
    ),
    critDays: days(
      certDays.crit ?? flags.critDays,
      Number(declaredDefault(options, 'crit-days')),
      certDays.crit ? '--certificate' : '--crit-days',
    ),
    warnMs: thresholds(flags.warnMs, '--warn-ms', { option: '--warning (-w)', value: flags.warning }),
    critMs: thresholds(flags.critMs, '--crit-ms', { option: '--critical (-c)', value: flags.critical }),
    auth: wantsAuth
      ? await askedOnce(await planAuth(flags, (m) => output.stderr.write(`!!! ${printable(m)}\n`)))
      : undefined,
    from: flags.from,
    rcpt: flags.rcpt,
    relayTest: !!flags.relayTest,
    enumTest: !!flags.enumTest,
    ...(flags.tlsScan ? { tlsScan: scanSpec(flags) } : {}),
    resolver: dns && (flags.ptr || flags.dnsbl) ? new Resolver(dns) : undefined,
    ptr: !!flags.ptr,
    dnsbl: dnsblZones(flags.dnsbl),
    daneResolver: dns && flags.dane ? new Resolver(dns) : undefined,
    totalMs: durationMs(flags.timeout ?? declaredDefault(options, 'timeout'), '--timeout'),
  };
}

/** Many targets share one login: the secret is asked for once, before the first probe. */
export async function askedOnce(plan: AuthPlan): Promise<AuthPlan> {
  await plan.secret();
  return plan;
}
