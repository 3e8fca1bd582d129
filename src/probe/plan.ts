import { usageError } from '../errors.js';
import { Resolver } from '../dns/resolver.js';
import type { TransportOptions } from '../dns/transport.js';
import { sessionOptionsFor, type SessionBase } from '../session/for-target.js';
import { probeEach } from './batch.js';
import { mxTargets } from './mx-targets.js';
import type { ProbeSettings, ProbeTarget } from './probe-input.js';
import type { ProbeResult } from './result.js';

/** A target as given (its session options made when it is probed), or an MX host's, made already. */
export type PlannedTarget = ProbeTarget | { label: string };

/** --mx: the domain's MX hosts are probed too, judged by its MTA-STS policy. */
export interface ProbeMx {
  domain: string;
  resolver: Readonly<TransportOptions>;
  httpsPort: number;
}

/** A target's presented chain (DER, leaf first; empty without TLS). */
export interface TargetChain {
  label: string;
  chain: Buffer[];
}

/** The servers as given, then the domain's MX hosts; none at all is a usage error. */
export async function planTargets(
  given: readonly string[],
  mx: Readonly<ProbeMx> | undefined,
  base: Readonly<SessionBase>,
): Promise<PlannedTarget[]> {
  const targets: PlannedTarget[] = [
    ...given.map((label) => ({ label })),
    ...(mx ? await mxTargets(new Resolver(mx.resolver), mx.domain, base, mx.httpsPort) : []),
  ];
  if (!targets.length) throw usageError('give at least one target (host[:port]), --targets FILE, or --mx DOMAIN');
  return targets;
}

/**
 * Probes the planned targets, `concurrency` at once, handing each result to `done` in input
 * order. With `keepChains`, returns every target's presented chain, in input order.
 */
export async function probePlanned(
  targets: readonly PlannedTarget[],
  base: Readonly<SessionBase>,
  settings: ProbeSettings,
  concurrency: number,
  keepChains: boolean,
  done: (r: ProbeResult) => void,
): Promise<TargetChain[]> {
  const chains = new Map<number, Buffer[]>();
  const indexOf = new WeakMap<ProbeTarget, number>();
  const run = keepChains
    ? { ...settings, onCertificates: (t: ProbeTarget, chain: Buffer[]) => chains.set(indexOf.get(t)!, chain) }
    : settings;
  // Each target's session options are made when its turn comes and dropped after it.
  const targetAt = (i: number) => {
    const p = targets[i]!;
    const t = 'options' in p ? p : { label: p.label, options: sessionOptionsFor(p.label, base).options };
    indexOf.set(t, i);
    return t;
  };
  await probeEach(targets.length, targetAt, run, concurrency, (r) => done(r));
  return keepChains ? targets.map((t, i) => ({ label: t.label, chain: chains.get(i) ?? [] })) : [];
}
