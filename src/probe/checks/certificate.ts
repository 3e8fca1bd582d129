import type { Check, CheckStatus } from '../result.js';
import { check, needed, policyOf, type CheckContext, type ProbeCheck } from './context.js';

/** A certificate judge (DANE) may vouch for what PKIX does not; a bad one fails or warns as the policy says. */
function judged(ctx: CheckContext) {
  const t = needed(ctx.session.tls, 'the TLS facts');
  const policy = policyOf(ctx);
  const bad: CheckStatus = policy.enforced ? 'fail' : 'warn';
  return { t, policy, bad, vouched: ctx.session.certificateVerdict };
}

export function runCertificateTrust(ctx: CheckContext): Check<'certificate-trust'> {
  const { t, policy, bad, vouched } = judged(ctx);
  const trusted = t.trusted || !!vouched;
  return check(
    'certificate-trust',
    trusted ? 'pass' : bad,
    t.trusted
      ? 'the chain is trusted'
      : vouched
        ? `authenticated by ${vouched.by}`
        : `not trusted: ${t.trustError} (${policy.why})`,
  );
}

/** --ca-file does not help a name mismatch: the rule is named only where it is not the usual one. */
export function runCertificateName(ctx: CheckContext): Check<'certificate-name'> {
  const { t, policy, bad, vouched } = judged(ctx);
  const nameMatches = t.nameMatches || !!vouched?.nameWaived;
  return check(
    'certificate-name',
    nameMatches ? 'pass' : bad,
    t.nameMatches
      ? `valid for ${t.nameChecked}`
      : nameMatches
        ? `not checked: ${vouched?.by} authenticates the certificate itself`
        : `${t.nameError}${policy.rule === 'authenticated' ? '' : ` (${policy.why})`}`,
  );
}

/** Days left on the leaf against --warn-days and --crit-days. */
export function judgeExpiry(days: number, warnDays: number, critDays: number): Check<'certificate-expiry'> {
  const status: CheckStatus = days < critDays ? 'fail' : days < warnDays ? 'warn' : 'pass';
  return check(
    'certificate-expiry',
    status,
    days < 0
      ? `EXPIRED ${-days} days ago`
      : `${days} days left${status === 'pass' ? '' : ` (below ${status === 'fail' ? critDays : warnDays})`}`,
  );
}

const leafDays = (ctx: CheckContext) => ctx.session.tls?.chain[0]?.daysLeft;

export const certificateTrust: ProbeCheck<'certificate-trust'> = {
  names: ['certificate-trust'],
  when: (_s, ctx) => !!ctx.session.tls,
  run: (ctx) => [runCertificateTrust(ctx)],
};

export const certificateName: ProbeCheck<'certificate-name'> = {
  names: ['certificate-name'],
  when: (_s, ctx) => !!ctx.session.tls,
  run: (ctx) => [runCertificateName(ctx)],
};

export const certificateExpiry: ProbeCheck<'certificate-expiry'> = {
  names: ['certificate-expiry'],
  when: (_s, ctx) => leafDays(ctx) !== undefined,
  run: (ctx) => [judgeExpiry(leafDays(ctx)!, ctx.settings.warnDays, ctx.settings.critDays)],
};
