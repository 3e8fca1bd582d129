import { ExitCode, usageError } from '../errors.js';
import { lookupMx } from '../dns/mx.js';
import { Resolver } from '../dns/resolver.js';
import type { ProbeSettings, ProbeTarget } from '../probe/probe.js';
import { probeEach } from '../probe/batch.js';
import { probeFailure, probeReporter } from '../probe/report.js';
import { processOutput } from '../render/output.js';
import { parseDomain } from '../dns/domain.js';
import { sessionOptions, readOption } from '../flows/options.js';
import { failureOutcome } from '../flows/run.js';
import { probeSettings, type ProbeFlags } from '../probe/settings.js';
export type { ProbeFlags } from '../probe/settings.js';
import { parsePort } from '../protocol/target.js';
import { checkSaveCert, saveCertificates } from '../flows/save-cert.js';

/**
 * `smtpkit probe a:25 b:587 ...`: one health check per target, run concurrently, reported
 * in input order, each result written as it finishes (memory stays flat however many).
 */
export async function probeCommand(specs: string[], flags: ProbeFlags): Promise<number> {
  const format = flags.json ? 'json' : (flags.format ?? 'text');
  const output = await processOutput(flags);
  let targets: Planned[];
  let settings: ProbeSettings;
  let concurrency: number;
  try {
    settings = await probeSettings(flags, output);
    checkSaveCert(flags.saveCert);
    concurrency = flags.concurrency === undefined ? 10 : Number(flags.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000)
      throw usageError('--concurrency takes a whole number from 1 to 1000');
    targets = await probeTargets([...specs, ...(flags.hostname ?? [])], flags);
  } catch (err) {
    return probeFailure(output, format, failureOutcome(err), !!flags.quiet);
  }
  const chains = new Map<number, Buffer[]>();
  const indexOf = new WeakMap<ProbeTarget, number>();
  if (flags.saveCert) settings.onCertificates = (t, chain) => chains.set(indexOf.get(t)!, chain);
  const reporter = await probeReporter(output, {
    format,
    strict: !!flags.strict,
    quiet: !!flags.quiet,
    transcript: !!flags.transcript,
    brief: !!flags.brief,
    targets: targets.map((t) => t.label),
    warnMs: settings.warnMs.total,
    critMs: settings.critMs.total,
  });
  // A spinner only where it cannot tangle with results streaming to the same terminal.
  const spinner = !process.stdout.isTTY || flags.quiet ? await progress(targets.length) : undefined;
  let done = 0;
  // Each target's session options are made when its turn comes and dropped after it.
  const targetAt = (i: number) => {
    const p = targets[i]!;
    const t = 'options' in p ? p : { label: p.label, options: sessionOptions(p.label, flags).options };
    indexOf.set(t, i);
    return t;
  };
  try {
    await probeEach(targets.length, targetAt, settings, concurrency, (r) => {
      reporter.result(r);
      spinner?.update(++done);
    });
  } catch (err) {
    // A bug of ours (each probe catches its own failures): for Nagios too it is UNKNOWN, exit 3.
    spinner?.stop();
    return probeFailure(output, format, failureOutcome(err), !!flags.quiet);
  }
  spinner?.stop();
  let unsaved: ReturnType<typeof failureOutcome> | undefined;
  try {
    if (flags.saveCert)
      saveCertificates(
        flags.saveCert,
        targets.map((t, i) => ({ label: t.label, chain: chains.get(i) ?? [] })),
      );
  } catch (err) {
    unsaved = failureOutcome(err);
  }
  const exitCode = reporter.end();
  // The results stand; the file that could not be written is said after them.
  return unsaved ? Math.max(exitCode, probeFailure(output, 'text', unsaved, false)) : exitCode;
}

/** A mistake on a command line that asked for JSON or Nagios, said in that format (commander found it). */
export async function probeUsageError(format: string, message: string): Promise<number> {
  return probeFailure(
    await processOutput({ color: false }),
    format,
    { ok: false, exitCode: ExitCode.usage, errorClass: 'usage', message },
    false,
  );
}

/** A target as given (its session options made when it is probed), or an MX host's, made already. */
type Planned = ProbeTarget | { label: string };

/** Targets from the arguments, a file (one per line, # comments), or a domain's MX hosts; all checked now. */
async function probeTargets(specs: string[], flags: ProbeFlags): Promise<Planned[]> {
  const list = [...specs];
  if (flags.targets) {
    for (const line of readOption(flags.targets, '--targets').split(/\r?\n/)) {
      const t = line.replace(/#.*/, '').trim();
      if (t) list.push(t);
    }
  }
  // Every mistake is found before the first probe; thousands of option sets are not kept.
  for (const spec of list) sessionOptions(spec, flags);
  const targets: Planned[] = list.map((spec) => ({ label: spec }));
  if (flags.mx) {
    const domain = parseDomain(flags.mx);
    const resolver = Resolver.fromFlags(flags, flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined);
    const report = await lookupMx(resolver, domain);
    if (report.kind === 'null') throw usageError(`${domain} publishes a null MX: it has no mail hosts to probe`);
    // Whether a bad certificate fails depends on the domain's MTA-STS policy (RFC 8461).
    const { checkMtaSts, mxMatches } = await import('../dns/checks/mtasts.js');
    const hosts = report.hosts.map((h) => h.exchange);
    const http = {
      ca: flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined,
      timeoutMs: resolver.transport.timeoutMs,
      port: flags.httpsPort ? parsePort(flags.httpsPort) : 443,
    };
    const sts = await checkMtaSts(resolver, domain, hosts, http);
    const enforce =
      sts.status === 'pass' ? /mx ([^,]+(?:, [^,]+)*)$/.exec(sts.details[0] ?? '')?.[1]?.split(', ') : undefined;
    for (const h of report.hosts) {
      for (const a of h.addresses) {
        const { options } = sessionOptions(h.exchange, flags);
        options.candidates = [{ host: h.exchange, address: a.address }];
        targets.push({
          label: `${h.exchange} (${a.address})`,
          options,
          mx: true,
          domain,
          mtaStsEnforce: !!enforce?.some((p) => mxMatches(p, h.exchange)),
        });
      }
    }
  }
  if (!targets.length) throw usageError('give at least one target (host[:port]), --targets FILE, or --mx DOMAIN');
  return targets;
}

/** ora only where a person watches: a terminal with a size, not CI, not a dumb terminal. */
async function progress(total: number) {
  const tty =
    process.stderr.isTTY && (process.stderr.columns ?? 0) > 0 && !process.env.CI && process.env.TERM !== 'dumb';
  if (!tty) return undefined;
  const { default: ora } = await import('ora');
  const spinner = ora({ text: `probing 0/${total}`, stream: process.stderr, discardStdin: false }).start();
  return {
    update: (n: number) => (spinner.text = `probing ${n}/${total}`),
    stop: () => spinner.stop(),
  };
}
