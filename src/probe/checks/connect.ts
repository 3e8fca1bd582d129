import { formatTarget } from '../../protocol/target.js';
import type { Check } from '../result.js';
import { check, type CheckContext, type ProbeCheck } from './context.js';

/** Opens the probe's connection and waits for the greeting (kept for the checks after). */
export async function runConnect(ctx: CheckContext): Promise<Check<'connect'>> {
  const { session, target } = ctx;
  // The tls check always runs, with STARTTLS whenever the server offers it.
  session.expectTls();
  ctx.greeting = await session.connect();
  const reached = target.options.candidates?.[0]?.address ?? target.options.host;
  return check(
    'connect',
    'pass',
    `connected to ${formatTarget(reached, target.options.port)} in ${session.timings.connect ?? 0} ms`,
  );
}

export const connect: ProbeCheck<'connect'> = {
  names: ['connect'],
  when: () => true,
  run: async (ctx) => [await runConnect(ctx)],
};
