import { randomBytes } from 'node:crypto';
import { isPositive, replyText, type Reply } from '../../protocol/reply.js';
import type { SmtpSession } from '../../session/session.js';
import type { Attempt, Check } from '../result.js';
import { localDomain } from './open-relay.js';
import { needed, openFresh, type CheckContext, type ProbeCheck } from './context.js';

type EnumerationName = 'vrfy' | 'expn' | 'rcpt-enumeration';

const line = (r: Reply) => `${r.code} ${replyText(r)}`;

/** A local part nobody has: random, so a "yes" to it means the server says yes to anything. */
export function randomAddress(known: string): string {
  const domain = known.slice(known.lastIndexOf('@') + 1);
  return `smtpkit-nobody-${randomBytes(6).toString('hex')}@${domain}`;
}

/**
 * VRFY, EXPN and RCPT TO for a known address and a random one: a server that answers the
 * two differently tells anyone which users exist. Nothing is sent: RSET after RCPT.
 */
export async function enumerationChecks(
  open: () => Promise<SmtpSession>,
  known: string,
): Promise<Check<EnumerationName>[]> {
  const unknown = randomAddress(known);
  const checks: Check<EnumerationName>[] = [];
  const session = await open();
  try {
    for (const verb of ['VRFY', 'EXPN'] as const) {
      const arg = verb === 'VRFY' ? (a: string) => a : (a: string) => a.slice(0, a.lastIndexOf('@'));
      const a = await session.command(`${verb} ${arg(known)}`, { phase: 'enumeration' });
      const b = await session.command(`${verb} ${arg(unknown)}`, { phase: 'enumeration' });
      checks.push(
        judge(
          verb === 'VRFY' ? 'vrfy' : 'expn',
          verb,
          [
            attempt(`${verb} known`, `${verb} ${arg(known)}`, a),
            attempt(`${verb} random`, `${verb} ${arg(unknown)}`, b),
          ],
          a,
          b,
        ),
      );
    }
    const mail = await session.command('MAIL FROM:<>', { phase: 'enumeration' });
    if (!isPositive(mail)) {
      checks.push({
        name: 'rcpt-enumeration',
        status: 'inconclusive',
        message: `inconclusive: could not test, MAIL FROM:<> refused: ${line(mail)}`,
        attempts: [attempt('MAIL', 'MAIL FROM:<>', mail)],
      });
    } else {
      const a = await session.command(`RCPT TO:<${known}>`, { phase: 'enumeration' });
      const b = await session.command(`RCPT TO:<${unknown}>`, { phase: 'enumeration' });
      checks.push(
        judge(
          'rcpt-enumeration',
          'RCPT TO',
          [attempt('RCPT known', `RCPT TO:<${known}>`, a), attempt('RCPT random', `RCPT TO:<${unknown}>`, b)],
          a,
          b,
        ),
      );
    }
    await session.command('RSET', { phase: 'enumeration' });
  } finally {
    await session.quit();
  }
  return checks;
}

const attempt = (form: string, command: string, r: Reply): Attempt => ({
  form,
  commands: [command],
  reply: line(r),
  accepted: isPositive(r),
});

/**
 * A refusal about the client or the session, not the address: authentication or TLS
 * required (530), relaying denied or another policy (X.7.X), a temporary no (greylisting).
 */
const aboutTheSession = (r: Reply) =>
  r.code === 530 ||
  (r.code >= 400 && r.code < 500) ||
  /^[45]\.7\./.test(r.enhanced ?? '') ||
  /relay|authenticat|starttls/i.test(replyText(r));

/** Discloses when a real user gets a yes and a random one a permanent no. */
function judge<N extends EnumerationName>(
  name: N,
  verb: string,
  attempts: Attempt[],
  real: Reply,
  random: Reply,
): Check<N> {
  const both = `${verb} real: ${line(real)}; random: ${line(random)}`;
  // The same refusal for both that says nothing about users: no answer either way.
  if (!isPositive(real) && real.code === random.code && real.enhanced === random.enhanced && aboutTheSession(real)) {
    return {
      name,
      status: 'inconclusive',
      message: `inconclusive: both got ${line(real)}, a refusal that says nothing about the user (try with --auth, or from a network the server relays for)`,
      attempts,
    };
  }
  if (isPositive(real) && random.code >= 500 && random.code !== 502 && random.code !== 500) {
    return { name, status: 'warn', message: `${verb} tells users apart (discloses who exists): ${both}`, attempts };
  }
  if (real.code === 502 || real.code === 500)
    return { name, status: 'pass', message: `${verb} is not supported: ${line(real)}`, attempts };
  return { name, status: 'pass', message: `${verb} does not tell a real user from a random one: ${both}`, attempts };
}

/** postmaster exists everywhere (RFC 5321 §4.5.1): at the --mx domain, else the greeting's; --rcpt names another. */
export function runEnumeration(ctx: CheckContext): Promise<Check<EnumerationName>[]> {
  const { session, target } = ctx;
  const local = localDomain(replyText(needed(ctx.greeting, 'the greeting')), session.currentHost);
  return enumerationChecks(openFresh(ctx), ctx.settings.rcpt ?? `postmaster@${target.domain ?? local}`);
}

export const enumeration: ProbeCheck<EnumerationName> = {
  names: ['vrfy', 'expn', 'rcpt-enumeration'],
  when: (s) => !!s.enumTest,
  run: runEnumeration,
};
