import { usageError } from '../errors.js';
import { Resolver } from '../dns/resolver.js';
import type { TransportOptions } from '../dns/transport.js';
import type { ProbeSettings, ProbeTarget } from '../probe/probe.js';
import { probeEach } from '../probe/batch.js';
import { probeFailure, probeReporter } from '../probe/report.js';
import { failureOutcome } from '../render/failure.js';
import type { Output } from '../render/output.js';
import { progress } from '../render/progress.js';
import { sessionOptionsFor, type SessionBase } from '../session/for-target.js';
import { mxTargets } from '../probe/mx-targets.js';

export type ProbeFormat = 'text' | 'json' | 'jsonl' | 'junit' | 'nagios' | 'prometheus';

export interface ProbeSpec {
  format: ProbeFormat;
  strict: boolean;
  quiet: boolean;
  brief: boolean;
  transcript: boolean;
  settings: ProbeSettings;
  /** Probes at once. */
  concurrency: number;
  /** The servers as given (checked): each one's session options are made when its turn comes. */
  targets: string[];
  /** What every target's session shares. */
  base: Readonly<SessionBase>;
  /** --mx: the domain's MX hosts are probed too, judged by its MTA-STS policy. */
  mx: { domain: string; resolver: Readonly<TransportOptions>; httpsPort: number } | undefined;
  /** --save-cert: writes each target's presented chain (DER, leaf first; empty without TLS). */
  saveCerts: ((chains: Array<{ label: string; chain: Buffer[] }>) => void) | undefined;
}

export { probeFailure as probeFailed };

/** A target as given (its session options made when it is probed), or an MX host's, made already. */
type Planned = ProbeTarget | { label: string };

/**
 * `smtpkit probe a:25 b:587 ...`: one health check per target, run concurrently, reported
 * in input order, each result written as it finishes (memory stays flat however many).
 */
export async function probeCommand(spec: Readonly<ProbeSpec>, output: Output): Promise<number> {
  const { format, settings } = spec;
  let targets: Planned[];
  try {
    targets = await probeTargets(spec);
  } catch (err) {
    return probeFailure(output, format, failureOutcome(err), spec.quiet);
  }
  const chains = new Map<number, Buffer[]>();
  const indexOf = new WeakMap<ProbeTarget, number>();
  if (spec.saveCerts) settings.onCertificates = (t, chain) => chains.set(indexOf.get(t)!, chain);
  const reporter = await probeReporter(output, {
    format,
    strict: spec.strict,
    quiet: spec.quiet,
    transcript: spec.transcript,
    brief: spec.brief,
    targets: targets.map((t) => t.label),
    warnMs: settings.warnMs.total,
    critMs: settings.critMs.total,
  });
  // A spinner only where it cannot tangle with results streaming to the same terminal.
  const spinner = !process.stdout.isTTY || spec.quiet ? await progress(`probing 0/${targets.length}`) : undefined;
  let done = 0;
  // Each target's session options are made when its turn comes and dropped after it.
  const targetAt = (i: number) => {
    const p = targets[i]!;
    const t = 'options' in p ? p : { label: p.label, options: sessionOptionsFor(p.label, spec.base).options };
    indexOf.set(t, i);
    return t;
  };
  try {
    await probeEach(targets.length, targetAt, settings, spec.concurrency, (r) => {
      reporter.result(r);
      spinner?.update(`probing ${++done}/${targets.length}`);
    });
  } catch (err) {
    // A bug of ours (each probe catches its own failures): for Nagios too it is UNKNOWN, exit 3.
    spinner?.stop();
    return probeFailure(output, format, failureOutcome(err), spec.quiet);
  }
  spinner?.stop();
  let unsaved: ReturnType<typeof failureOutcome> | undefined;
  try {
    spec.saveCerts?.(targets.map((t, i) => ({ label: t.label, chain: chains.get(i) ?? [] })));
  } catch (err) {
    unsaved = failureOutcome(err);
  }
  const exitCode = reporter.end();
  // The results stand; the file that could not be written is said after them.
  return unsaved ? Math.max(exitCode, probeFailure(output, 'text', unsaved, false)) : exitCode;
}

async function probeTargets(spec: Readonly<ProbeSpec>): Promise<Planned[]> {
  const targets: Planned[] = [
    ...spec.targets.map((label) => ({ label })),
    ...(spec.mx ? await mxTargets(new Resolver(spec.mx.resolver), spec.mx.domain, spec.base, spec.mx.httpsPort) : []),
  ];
  if (!targets.length) throw usageError('give at least one target (host[:port]), --targets FILE, or --mx DOMAIN');
  return targets;
}
