import { usageError } from '../errors.js';
import { lookupMx, noMxAddress } from '../dns/mx.js';
import type { Resolver } from '../dns/resolver.js';
import { sessionOptionsFor, type SessionBase } from '../session/for-target.js';
import type { ProbeTarget } from './probe-input.js';

/**
 * A domain's MX hosts as probe targets, one per address, each judged as the domain's
 * MTA-STS policy says: whether a bad certificate fails depends on it (RFC 8461).
 */
export async function mxTargets(
  resolver: Resolver,
  domain: string,
  base: Readonly<SessionBase>,
  httpsPort: number,
): Promise<ProbeTarget[]> {
  const report = await lookupMx(resolver, domain);
  if (report.kind === 'null') throw usageError(`${domain} publishes a null MX: it has no mail hosts to probe`);
  if (!report.hosts.some((h) => h.addresses.length)) throw noMxAddress(report);
  const { checkMtaSts, mxMatches } = await import('../dns/checks/mtasts.js');
  const hosts = report.hosts.map((h) => h.exchange);
  const http = { ca: base.tls.ca, timeoutMs: resolver.transport.timeoutMs, port: httpsPort };
  const sts = await checkMtaSts(resolver, domain, hosts, http);
  const enforce =
    sts.status === 'pass' ? /mx ([^,]+(?:, [^,]+)*)$/.exec(sts.details[0] ?? '')?.[1]?.split(', ') : undefined;
  return report.hosts.flatMap((h) =>
    h.addresses.map((a) => {
      const { options } = sessionOptionsFor(h.exchange, base);
      options.candidates = [{ host: h.exchange, address: a.address }];
      return {
        label: `${h.exchange} (${a.address})`,
        options,
        mx: true,
        domain,
        mtaStsEnforce: !!enforce?.some((p) => mxMatches(p, h.exchange)),
      };
    }),
  );
}
