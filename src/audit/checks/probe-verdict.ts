import type { Verdict } from '../check.js';
import { subjectOf, type AuditContext, type MxAddress } from '../context.js';
import type { SmtpFacts } from '../smtp-probe.js';

/**
 * A probe check of every MX address as a verdict per address. A check the probe did not
 * reach is "not tested" with the reason the probe stopped; `map` may judge more sharply
 * than the probe (the audit's rules are internet.nl's, not a health check's).
 */
export async function perAddress(
  ctx: AuditContext,
  name: string,
  map: (c: NonNullable<ReturnType<SmtpFacts['check']>>, f: SmtpFacts, a: MxAddress) => Verdict | undefined = () =>
    undefined,
  only: (a: MxAddress) => boolean = () => true,
): Promise<Verdict[]> {
  const addresses = (await ctx.mxAddresses()).filter(only);
  return Promise.all(
    addresses.map(async (a): Promise<Verdict> => {
      const f = await ctx.smtp(a);
      const subject = subjectOf(a);
      const c = f.check(name);
      if (!c) return { subject, ...stopped(f) };
      const mapped = map(c, f, a);
      // Judged in plaintext after STARTTLS failed: the summary says so.
      const note = f.plaintext && !f.result.checks.includes(c) ? ` (in plaintext: ${f.plaintext})` : '';
      if (mapped) return { subject, ...mapped, summary: mapped.summary + note };
      return {
        subject,
        status: c.status === 'inconclusive' ? 'not-tested' : c.status,
        summary: c.message + note,
        evidence: (c.attempts ?? []).map((t) => `${t.form}: ${t.commands.join(' / ')} → ${t.reply}`),
      };
    }),
  );
}

/** Why the probe has no verdict on a check: it stopped before it (said as not tested). */
export function stopped(f: SmtpFacts): Verdict {
  const e = f.result.error;
  if (!e) return { status: 'not-tested', summary: 'the probe did not get to this check' };
  return { status: 'not-tested', summary: `the probe stopped before this check: ${e.message}` };
}
