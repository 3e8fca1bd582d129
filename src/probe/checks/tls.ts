import { hasExtension } from '../../protocol/capabilities.js';
import type { Check, CheckStatus } from '../result.js';
import { check, needed, type CheckContext, type ProbeCheck } from './context.js';

export const SUBMISSION = 587;
export const SMTPS = 465;

/** TLS from the start, STARTTLS when offered (and then used), else how bad its absence is here. */
export async function runTls(ctx: CheckContext): Promise<Check<'tls'>> {
  const { session, settings: s, target } = ctx;
  const { port } = target.options;
  const plain = needed(ctx.plain, 'the EHLO answer');
  if (plain.implicitTls)
    return check(
      'tls',
      'pass',
      session.implicitTlsDetected
        ? `implicit TLS (port ${port}): no greeting in plaintext, but the port answers TLS; say --tls-on-connect or smtps:// next time`
        : `implicit TLS (port ${port})`,
    );
  if (hasExtension(plain.capabilities, 'STARTTLS')) {
    await session.starttls();
    return check('tls', 'pass', `STARTTLS works (${session.timings.tls} ms handshake)`);
  }
  const required = port === SUBMISSION || port === SMTPS || s.requireStartTls || target.options.requireStartTls;
  return check(
    'tls',
    required ? 'fail' : 'warn',
    port === SMTPS
      ? 'no TLS on port 465: it expects implicit TLS (--tls-on-connect)'
      : `STARTTLS is not offered: mail to this server travels in clear${s.requireStartTls ? ' (STARTTLS required: -S)' : ''}`,
  );
}

/** TLS 1.0 and 1.1 are obsolete (RFC 8996). */
export function runTlsVersion(ctx: CheckContext): Check<'tls-version'> {
  const t = needed(ctx.session.tls, 'the TLS facts');
  const obsolete = t.protocol === 'TLSv1' || t.protocol === 'TLSv1.1';
  const status: CheckStatus = obsolete ? 'warn' : 'pass';
  return check(
    'tls-version',
    status,
    `${t.protocol}, ${t.cipher}${obsolete ? ': obsolete, should be TLS 1.2 or later' : ''}`,
  );
}

export const tls: ProbeCheck<'tls'> = {
  names: ['tls'],
  when: () => true,
  run: async (ctx) => [await runTls(ctx)],
};

export const tlsVersion: ProbeCheck<'tls-version'> = {
  names: ['tls-version'],
  when: (_s, ctx) => !!ctx.session.tls,
  run: (ctx) => [runTlsVersion(ctx)],
};
