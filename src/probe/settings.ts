import { usageError } from '../errors.js';
import { Resolver, type ResolverFlags } from '../dns/resolver.js';
import { dnsblZones } from '../dns/checks/dnsbl.js';
import { planAuth, type AuthFlags, type AuthPlan } from '../flows/establish.js';
import { writer, type Output } from '../render/output.js';
import { printable } from '../render/printable.js';
import { readOption } from '../flows/options.js';
import type { Flags } from '../flows/run.js';
import { scanSettings } from '../scan/run.js';
import { parseDuration } from '../session/timeouts.js';
import type { ProbeSettings } from './probe.js';

export interface ProbeFlags extends Flags, AuthFlags, ResolverFlags {
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
  saveCert?: string;
  dane?: boolean;
  starttls?: string;
  /** check_smtp's names: -H, -w, -c, -e, -S, -D (-p and -t are smtpkit's own --port and --timeout). */
  hostname?: string[];
  warning?: string;
  critical?: string;
  expect?: string;
  requireStarttls?: boolean;
  certificate?: string;
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

export async function probeSettings(flags: ProbeFlags, output?: Output): Promise<ProbeSettings> {
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
  return {
    expectBanner,
    ...(flags.expect !== undefined ? { expectText: flags.expect } : {}),
    requireStartTls: !!flags.requireStarttls || flags.starttls === 'always',
    warnDays: days(certDays.warn ?? flags.warnDays, 21, certDays.warn ? '--certificate' : '--warn-days'),
    critDays: days(certDays.crit ?? flags.critDays, 7, certDays.crit ? '--certificate' : '--crit-days'),
    warnMs: thresholds(flags.warnMs, '--warn-ms', { option: '--warning (-w)', value: flags.warning }),
    critMs: thresholds(flags.critMs, '--crit-ms', { option: '--critical (-c)', value: flags.critical }),
    auth: wantsAuth
      ? await askedOnce(
          planAuth(flags, (m) => (output?.stderr ?? writer(process.stderr)).write(`!!! ${printable(m)}\n`)),
        )
      : undefined,
    from: flags.from,
    rcpt: flags.rcpt,
    relayTest: !!flags.relayTest,
    enumTest: !!flags.enumTest,
    ...(flags.tlsScan ? { tlsScan: scanSettings({ ...flags, tlsTimeout: flags.tlsTimeout ?? '5s' }) } : {}),
    resolver:
      flags.ptr || flags.dnsbl
        ? Resolver.fromFlags(flags, flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined)
        : undefined,
    ptr: !!flags.ptr,
    dnsbl: dnsblZones(flags.dnsbl),
    daneResolver: flags.dane
      ? Resolver.fromFlags(flags, flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined)
      : undefined,
    totalMs: parseDuration(flags.timeout ?? '10s', '--timeout'),
  };
}

/** Many targets share one login: the secret is asked for once, before the first probe. */
async function askedOnce(plan: AuthPlan): Promise<AuthPlan> {
  await plan.secret();
  return plan;
}
