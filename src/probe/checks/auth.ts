import { login } from '../../flows/establish.js';
import type { Check } from '../result.js';
import { check, needed, type CheckContext, type ProbeCheck } from './context.js';

/** Logs in with the plan (--auth): a refusal stops the probe with the login's own failure. */
export async function runAuth(ctx: CheckContext): Promise<Check<'auth'>> {
  const plan = needed(ctx.settings.auth, '--auth');
  const mech = await login(ctx.session, plan);
  return check('auth', 'pass', `logged in as ${plan.user} with ${mech}`);
}

export const auth: ProbeCheck<'auth'> = {
  names: ['auth'],
  when: (s) => !!s.auth,
  run: async (ctx) => [await runAuth(ctx)],
};
