import type { ProbeSettings } from '../probe/probe.js';
import { planTargets, probePlanned, type PlannedTarget, type ProbeMx, type TargetChain } from '../probe/plan.js';
import { probeFailure, probeReporter } from '../probe/report.js';
import { failureOutcome } from '../render/failure.js';
import type { Output } from '../render/output.js';
import { progress } from '../render/progress.js';
import type { SessionBase } from '../session/for-target.js';

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
  mx: ProbeMx | undefined;
  /** --save-cert: writes each target's presented chain (DER, leaf first; empty without TLS). */
  saveCerts: ((chains: TargetChain[]) => void) | undefined;
}

export { probeFailure as probeFailed };

/**
 * `smtpkit probe a:25 b:587 ...`: one health check per target, run concurrently, reported
 * in input order, each result written as it finishes (memory stays flat however many).
 */
export async function probeCommand(spec: Readonly<ProbeSpec>, output: Output): Promise<number> {
  const { format, settings } = spec;
  let targets: PlannedTarget[];
  try {
    targets = await planTargets(spec.targets, spec.mx, spec.base);
  } catch (err) {
    return probeFailure(output, format, failureOutcome(err), spec.quiet);
  }
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
  let chains: TargetChain[];
  try {
    chains = await probePlanned(targets, spec.base, settings, spec.concurrency, !!spec.saveCerts, (r) => {
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
    spec.saveCerts?.(chains);
  } catch (err) {
    unsaved = failureOutcome(err);
  }
  const exitCode = reporter.end();
  // The results stand; the file that could not be written is said after them.
  return unsaved ? Math.max(exitCode, probeFailure(output, 'text', unsaved, false)) : exitCode;
}
