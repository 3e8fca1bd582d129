import { performance } from 'node:perf_hooks';
import { outcomeOf as failureOutcome } from '../errors.js';
import type { SmtpEvent } from '../session/events.js';
import { SmtpSession } from '../session/session.js';
import { policyOf } from './checks/context.js';
import { checkContext, PROBE_CHECKS, type CheckContext, type ProbeCheck } from './checks/index.js';
import { probeDeadline } from './deadline.js';
import type { ProbeSettings, ProbeTarget } from './probe-input.js';
import type { Check, ProbeResult } from './result.js';

export type { ProbeSettings, ProbeTarget, TlsScanSettings } from './probe-input.js';
export { certificatePolicy, type CertificatePolicy } from './checks/certificate-policy.js';

/**
 * One probe: the table's checks in order (./checks/index.ts), in one session bounded by
 * `totalMs` whatever the server does, then the checks of the finished probe. A failure that
 * makes going on pointless stops the probe with the core's exit code.
 */
export async function probe(
  target: ProbeTarget,
  s: ProbeSettings,
  table: readonly ProbeCheck[] = PROBE_CHECKS,
): Promise<ProbeResult> {
  const events: SmtpEvent[] = [];
  // Options are copied: the DANE judge is installed on this session only.
  const session = new SmtpSession({ ...target.options }, (e) => events.push(e));
  const dane = s.daneResolver
    ? (await import('../flows/mx-targets.js')).installDane(session, s.daneResolver)
    : undefined;
  const ctx = checkContext(target, s, session, events, dane?.result);
  const checks: Check[] = [];
  const started = performance.now();
  const deadline = probeDeadline(session, events, s.totalMs);
  let stop: ReturnType<typeof stoppedBy> | undefined;
  const running = runStage(table, undefined, ctx, checks);
  running.catch(() => {});
  try {
    await Promise.race([running, deadline.expired]);
  } catch (err) {
    stop = stoppedBy(err);
  } finally {
    deadline.clear();
    if (!deadline.passed) {
      // QUIT too stays within what is left of the probe's time.
      const left = s.totalMs - (performance.now() - started);
      session.options.timeouts.command = Math.max(1, Math.min(session.options.timeouts.command, left));
      await session.quit();
    } else session.close();
    s.onCertificates?.(target, session.certificates);
  }
  if (!stop && session.brokenBy) stop = stoppedBy(session.brokenBy);
  const totalMs = Math.round((performance.now() - started) * 10) / 10;
  // The server's time: the wait spent finding out that a silent port speaks TLS was ours.
  const ownMs = session.timings['implicit-tls-detect'] ?? 0;
  const responseMs = Math.round((totalMs - ownMs) * 10) / 10;
  if (!stop) {
    ctx.elapsed = { responseMs, ownMs };
    await runStage(table, 'end', ctx, checks);
  }
  const policy = policyOf(ctx);
  const daneResult = dane?.result();
  return {
    target: target.label,
    host: session.currentHost,
    port: target.options.port,
    checks,
    certificatePolicy: session.tls ? { rule: policy.rule, enforced: policy.enforced } : null,
    ...(daneResult ? { dane: daneResult } : {}),
    tls: session.tls ?? null,
    timings: session.timings,
    totalMs,
    responseMs,
    exitCode: stop?.exitCode ?? (checks.some((c) => c.status === 'fail') ? 1 : 0),
    error: stop?.error ?? null,
    events,
    ...(ctx.scan ? { scan: ctx.scan } : {}),
  };
}

/**
 * The rows of one stage in table order, each when it applies; a row's checks are kept as soon
 * as it reports them, in table order. A `beside` row is started and left to run while the
 * rows after it do; the stage waits for it at its end (a failure of it stops the probe then).
 */
async function runStage(table: readonly ProbeCheck[], stage: 'end' | undefined, ctx: CheckContext, checks: Check[]) {
  const slots: Check[][] = [];
  const keep = (slot: number, found: Check[]) => {
    slots[slot] = found;
    checks.splice(0, checks.length, ...before, ...slots.flat());
  };
  const before = [...checks];
  const running: Promise<void>[] = [];
  try {
    for (const row of table)
      if (row.stage === stage && row.when(ctx.settings, ctx)) {
        const slot = slots.push([]) - 1;
        if (row.beside) {
          const p = (async () => keep(slot, await row.run(ctx)))();
          p.catch(() => {});
          running.push(p);
          continue;
        }
        keep(slot, await row.run(ctx));
        await row.after?.(ctx);
      }
  } finally {
    // Stopped or not, nothing started here goes on talking to the server once the stage is over.
    await Promise.allSettled(running);
  }
  await Promise.all(running);
}

/** What stopped the probe, as the result tells it, and the core's exit code for it. */
function stoppedBy(err: unknown): { error: NonNullable<ProbeResult['error']>; exitCode: number } {
  const o = failureOutcome(err);
  return {
    error: {
      errorClass: o.errorClass ?? 'internal',
      message: o.message,
      ...(o.phase ? { phase: o.phase } : {}),
      ...(o.hint ? { hint: o.hint } : {}),
    },
    exitCode: o.exitCode,
  };
}
