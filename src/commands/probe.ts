import { readFileSync } from 'node:fs';
import { usageError } from '../errors.js';
import { lookupMx } from '../dns/mx.js';
import { Resolver, type ResolverFlags } from '../dns/resolver.js';
import { parseDuration } from '../session/timeouts.js';
import { probe, type ProbeSettings, type ProbeTarget } from '../probe/probe.js';
import { junitReport, nagiosLine, textReport, verdictLine } from '../probe/render.js';
import { counts, nagiosStatus, type ProbeResult } from '../probe/result.js';
import { printable } from '../render/printable.js';
import { version } from '../version.js';
import { planAuth, type AuthFlags, type AuthPlan } from './establish.js';
import { parseDomain } from '../dns/domain.js';
import { sessionOptions, readOption } from './options.js';
import { paint } from '../render/paint.js';
import { failureOutcome, type Flags } from './run.js';

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
}

/** `smtpkit probe a:25 b:587 ...`: one health check per target, run concurrently, reported in input order. */
export async function probeCommand(specs: string[], flags: ProbeFlags): Promise<number> {
  const format = flags.json ? 'json' : (flags.format ?? 'text');
  let results: ProbeResult[];
  let settings: ProbeSettings;
  try {
    if (!['text', 'json', 'junit', 'nagios'].includes(format)) throw usageError('--format is text, json, junit or nagios');
    settings = await probeSettings(flags);
    const targets = await probeTargets(specs, flags);
    results = await runAll(targets, settings, flags);
  } catch (err) {
    const o = failureOutcome(err);
    if (format === 'nagios') process.stdout.write(`SMTP UNKNOWN - ${o.message}\n`);
    else process.stderr.write(`smtpkit: ${o.message}\n`);
    return format === 'nagios' ? 3 : o.exitCode;
  }
  const strictly = (r: ProbeResult) => (r.exitCode === 0 && flags.strict && counts(r).warn ? 1 : r.exitCode);
  const exitCode = Math.max(...results.map(strictly));
  const c = await paint(flags);
  if (format === 'json') {
    const summary = { targets: results.length, ok: results.filter((r) => strictly(r) === 0).length, failed: results.filter((r) => strictly(r) !== 0).length };
    const doc = { schema: 'smtpkit/1', tool: { name: 'smtpkit', version: version() }, command: 'probe', outcome: { ok: exitCode === 0, exitCode }, summary, results: results.map((r) => ({ ...r, exitCode: strictly(r), events: flags.transcript ? r.events : undefined })) };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return exitCode;
  }
  if (format === 'junit') {
    process.stdout.write(junitReport(results));
    return exitCode;
  }
  if (format === 'nagios') {
    const warnMs = totalLimit(flags.warnMs);
    const critMs = totalLimit(flags.critMs);
    const statuses = results.map((r) => (flags.strict && nagiosStatus(r) === 1 ? 2 : nagiosStatus(r)));
    // Worst first: CRITICAL, then UNKNOWN, WARNING, OK.
    const worst = statuses.reduce((w, s) => ([2, 3, 1, 0].indexOf(s) < [2, 3, 1, 0].indexOf(w) ? s : w), 0 as number);
    if (results.length > 1) process.stdout.write(`SMTP ${['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'][worst]} - ${results.length} targets: ${statuses.filter((s) => s === 0).length} ok, ${statuses.filter((s) => s === 1).length} warning, ${statuses.filter((s) => s === 2).length} critical, ${statuses.filter((s) => s === 3).length} unknown\n`);
    for (const r of results) process.stdout.write(`${nagiosLine(r, warnMs, critMs)}\n`);
    return worst;
  }
  for (const r of results) {
    if (!flags.quiet) process.stdout.write(textReport(r, c, !!flags.transcript));
    const line = verdictLine(r);
    const paint = strictly(r) === 0 ? c.green.bold : c.red.bold;
    process.stdout.write(`${paint(`${flags.quiet ? '' : '=== '}${printable(line)}`)}\n`);
  }
  if (results.length > 1) process.stdout.write(c.bold(`=== ${results.length} targets: ${results.filter((r) => strictly(r) === 0).length} ok, ${results.filter((r) => strictly(r) !== 0).length} failed\n`));
  return exitCode;
}

const totalLimit = (values: string[] | undefined) => {
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

async function probeSettings(flags: ProbeFlags): Promise<ProbeSettings> {
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
  if ((flags.from === undefined) !== (flags.rcpt === undefined)) throw usageError('--from and --rcpt go together');
  for (const [v, o] of [[flags.from, '--from'], [flags.rcpt, '--rcpt']] as const) if (v !== undefined && /[\r\n<>\s]/.test(v)) throw usageError(`${o}: give a bare address (no <>, spaces or line breaks)`);
  const wantsAuth = flags.auth || flags.user !== undefined;
  return {
    expectBanner,
    warnDays: days(flags.warnDays, 21, '--warn-days'),
    critDays: days(flags.critDays, 7, '--crit-days'),
    warnMs: thresholds(flags.warnMs, '--warn-ms'),
    critMs: thresholds(flags.critMs, '--crit-ms'),
    auth: wantsAuth ? await askedOnce(planAuth(flags, (m) => process.stderr.write(`!!! ${m}\n`))) : undefined,
    from: flags.from,
    rcpt: flags.rcpt,
    relayTest: !!flags.relayTest,
    resolver: flags.ptr ? Resolver.fromFlags(flags, flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined) : undefined,
    totalMs: parseDuration(flags.timeout ?? '10s', '--timeout'),
  };
}

/** Targets from the arguments, a file (one per line, # comments), or a domain's MX hosts. */
async function probeTargets(specs: string[], flags: ProbeFlags): Promise<ProbeTarget[]> {
  const list = [...specs];
  if (flags.targets) {
    for (const line of readOption(flags.targets, '--targets').split(/\r?\n/)) {
      const t = line.replace(/#.*/, '').trim();
      if (t) list.push(t);
    }
  }
  const targets = list.map((spec) => ({ label: spec, options: sessionOptions(spec, flags).options }));
  if (flags.mx) {
    const domain = parseDomain(flags.mx);
    const resolver = Resolver.fromFlags(flags, flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined);
    const report = await lookupMx(resolver, domain);
    if (report.kind === 'null') throw usageError(`${domain} publishes a null MX: it has no mail hosts to probe`);
    for (const h of report.hosts) {
      for (const a of h.addresses) {
        const { options } = sessionOptions(h.exchange, flags);
        options.candidates = [{ host: h.exchange, address: a.address }];
        targets.push({ label: `${h.exchange} (${a.address})`, options });
      }
    }
  }
  if (!targets.length) throw usageError('give at least one target (host[:port]), --targets FILE, or --mx DOMAIN');
  return targets;
}

/** A pool of `concurrency` probes; a spinner on a terminal only. */
async function runAll(targets: ProbeTarget[], settings: ProbeSettings, flags: ProbeFlags): Promise<ProbeResult[]> {
  const concurrency = flags.concurrency === undefined ? 10 : Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) throw usageError('--concurrency takes a whole number from 1 to 1000');
  const results: ProbeResult[] = new Array(targets.length);
  const spinner = await progress(targets.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      results[i] = await probe(targets[i]!, settings);
      spinner?.update(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
  spinner?.stop();
  return results;
}

/** ora only where a person watches: a terminal with a size, not CI, not a dumb terminal. */
async function progress(total: number) {
  const tty = process.stderr.isTTY && (process.stderr.columns ?? 0) > 0 && !process.env.CI && process.env.TERM !== 'dumb';
  if (!tty) return undefined;
  const { default: ora } = await import('ora');
  const spinner = ora({ text: `probing 0/${total}`, stream: process.stderr, discardStdin: false }).start();
  return {
    update: (n: number) => (spinner.text = `probing ${n}/${total}`),
    stop: () => spinner.stop(),
  };
}

/** Many targets share one login: the secret is asked for once, before the first probe. */
async function askedOnce(plan: AuthPlan): Promise<AuthPlan> {
  await plan.secret();
  return plan;
}
