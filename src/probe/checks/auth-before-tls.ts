import { authMechanisms } from '../../protocol/capabilities.js';
import type { Check } from '../result.js';
import { check, needed, type CheckContext, type ProbeCheck } from './context.js';

/** The AUTH mechanisms a client sees before any TLS (none when the port is TLS from the start). */
export function offeredBeforeTls(ctx: CheckContext): string[] {
  const plain = needed(ctx.plain, 'the EHLO answer');
  return plain.implicitTls ? [] : authMechanisms(plain.capabilities);
}

/** PLAIN or LOGIN in clear invites a client to send its password unprotected. */
export function judgeAuthBeforeTls(offered: string[]): Check<'auth-before-tls'> {
  if (offered.some((m) => m === 'PLAIN' || m === 'LOGIN'))
    return check(
      'auth-before-tls',
      'warn',
      `AUTH ${offered.join(' ')} is offered before TLS: a client could send its password in clear`,
    );
  return check(
    'auth-before-tls',
    'pass',
    offered.length ? `only challenge mechanisms before TLS (${offered.join(' ')})` : 'no AUTH before TLS',
  );
}

export const authBeforeTls: ProbeCheck<'auth-before-tls'> = {
  names: ['auth-before-tls'],
  when: () => true,
  run: (ctx) => [judgeAuthBeforeTls(offeredBeforeTls(ctx))],
};
