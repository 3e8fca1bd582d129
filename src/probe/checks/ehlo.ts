import type { Check } from '../result.js';
import { check, type CheckContext, type ProbeCheck } from './context.js';

/** EHLO (or HELO) in clear, or in the implicit TLS the port speaks; what it offered is kept. */
export async function runEhlo(ctx: CheckContext): Promise<Check<'ehlo'>> {
  const capabilities = await ctx.session.ehlo();
  ctx.plain = { capabilities, implicitTls: ctx.session.isTls };
  const offered = Object.keys(capabilities.extensions).join(' ') || 'no extensions';
  return check('ehlo', 'pass', `${capabilities.via} accepted; ${offered}`);
}

export const ehlo: ProbeCheck<'ehlo'> = {
  names: ['ehlo'],
  when: () => true,
  run: async (ctx) => [await runEhlo(ctx)],
};
