import type { Check } from '../result.js';
import { check, connectedAddress, needed, type CheckContext, type ProbeCheck } from './context.js';

/** The address the probe reached, looked up in each --dnsbl list. */
export async function runDnsbl(ctx: CheckContext): Promise<Check<'dnsbl'>> {
  // Loaded when asked: the DNS client (dns2) stays out of a probe that does no look-up.
  const { checkDnsbl } = await import('../../dns/checks/dnsbl.js');
  const resolver = needed(ctx.settings.resolver, 'the resolver');
  const { finding } = await checkDnsbl(resolver, [connectedAddress(ctx) ?? ''], ctx.settings.dnsbl ?? []);
  return check(
    'dnsbl',
    finding.status === 'absent' ? 'pass' : finding.status,
    `${finding.summary}${finding.details.length ? ` (${finding.details.join('; ')})` : ''}`,
  );
}

export const dnsbl: ProbeCheck<'dnsbl'> = {
  names: ['dnsbl'],
  when: (s) => !!(s.resolver && s.dnsbl?.length),
  run: async (ctx) => [await runDnsbl(ctx)],
};
