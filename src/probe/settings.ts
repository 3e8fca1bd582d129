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
}

export const totalLimit = (values: string[] | undefined) => {
  const t = (values ?? []).find((v) => !v.includes('='));
  return t === undefined ? undefined : Number(t);
};

function thresholds(values: string[] | undefined, option: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values ?? []) {
    const m = /^(?:([a-z-]+)=)?(\d+)$/.exec(v.trim());
    if (!m) throw usageError(`${option} takes milliseconds, for the total (500) or a phase (banner=200)`);
    out[m[1] ?? 'total'] = Number(m[2]);
  }
  return out;
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
  if ((flags.from === undefined) !== (flags.rcpt === undefined) && !(flags.enumTest && flags.from === undefined)) throw usageError('--from and --rcpt go together');
  for (const [v, o] of [[flags.from, '--from'], [flags.rcpt, '--rcpt']] as const) if (v !== undefined && /[\r\n<>\s]/.test(v)) throw usageError(`${o}: give a bare address (no <>, spaces or line breaks)`);
  const wantsAuth = flags.auth || flags.user !== undefined;
  return {
    expectBanner,
    warnDays: days(flags.warnDays, 21, '--warn-days'),
    critDays: days(flags.critDays, 7, '--crit-days'),
    warnMs: thresholds(flags.warnMs, '--warn-ms'),
    critMs: thresholds(flags.critMs, '--crit-ms'),
    auth: wantsAuth ? await askedOnce(planAuth(flags, (m) => (output?.stderr ?? writer(process.stderr)).write(`!!! ${printable(m)}\n`))) : undefined,
    from: flags.from,
    rcpt: flags.rcpt,
    relayTest: !!flags.relayTest,
    enumTest: !!flags.enumTest,
    ...(flags.tlsScan ? { tlsScan: scanSettings({ ...flags, tlsTimeout: flags.tlsTimeout ?? '5s' }) } : {}),
    resolver: flags.ptr || flags.dnsbl ? Resolver.fromFlags(flags, flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined) : undefined,
    ptr: !!flags.ptr,
    dnsbl: dnsblZones(flags.dnsbl),
    daneResolver: flags.dane ? Resolver.fromFlags(flags, flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined) : undefined,
    totalMs: parseDuration(flags.timeout ?? '10s', '--timeout'),
  };
}

/** Many targets share one login: the secret is asked for once, before the first probe. */
async function askedOnce(plan: AuthPlan): Promise<AuthPlan> {
  await plan.secret();
  return plan;
}
