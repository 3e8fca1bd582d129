import { authMechanisms } from '../../protocol/capabilities.js';
import type { Check } from '../result.js';
import { offeredBeforeTls } from './auth-before-tls.js';
import { check, type CheckContext, type ProbeCheck } from './context.js';
import { SMTPS, SUBMISSION } from './tls.js';

/** Submission ports (587, 465) offer AUTH over TLS; port 25, between MTAs, usually none. */
export function runPortConventions(ctx: CheckContext): Check<'port-conventions'> {
  const { session } = ctx;
  const { port } = ctx.target.options;
  const authAfter = session.isTls ? authMechanisms(session.capabilities!) : [];
  if (port === SUBMISSION || port === SMTPS)
    return check(
      'port-conventions',
      authAfter.length ? 'pass' : 'fail',
      authAfter.length
        ? `submission port with AUTH ${authAfter.join(' ')} over TLS`
        : `a submission port (${port}) should offer AUTH over TLS, and does not`,
    );
  const auth = authAfter.length ? authAfter : offeredBeforeTls(ctx);
  return check(
    'port-conventions',
    auth.length ? 'warn' : 'pass',
    auth.length
      ? `AUTH on port 25 is unusual (${auth.join(' ')}): submission belongs on 587 or 465`
      : 'port 25 without AUTH, as expected for server-to-server mail',
  );
}

export const portConventions: ProbeCheck<'port-conventions'> = {
  names: ['port-conventions'],
  when: (_s, ctx) => [SUBMISSION, SMTPS, 25].includes(ctx.target.options.port),
  run: (ctx) => [runPortConventions(ctx)],
};
