import { authMechanisms, hasExtension, type Capabilities } from '../protocol/capabilities.js';
import { formatTarget } from '../protocol/target.js';
import { SENDS_PASSWORD } from '../sasl/index.js';
import type { SmtpSession } from '../session/session.js';
import { greetAndSecure, login, planAuth, startTlsMode, type AuthFlags } from '../flows/establish.js';
import { runSession, type Flags } from '../flows/run.js';

export type AuthCommandFlags = Flags & AuthFlags & { list?: boolean };

/** Log in and report; with --list, only show which mechanisms are offered before and after TLS. */
export function auth(spec: string, flags: AuthCommandFlags): Promise<number> {
  return runSession(
    'auth',
    spec,
    flags,
    async (session) => {
      const where = formatTarget(session.options.host, session.options.port);
      if (flags.list) return listMechanisms(session, flags, where);
      const plan = planAuth(flags, (message) => session.emit({ type: 'warning', message }));
      await greetAndSecure(session, startTlsMode(flags.starttls));
      const mechanism = await login(session, plan);
      return `authenticated to ${where} as ${plan.user} with ${mechanism}${session.isTls ? ' over TLS' : ' WITHOUT TLS'}`;
    },
    587,
  );
}

async function listMechanisms(session: SmtpSession, flags: AuthCommandFlags, where: string): Promise<string> {
  await session.connect();
  const first = await session.ehlo();
  const implicitTls = session.isTls;
  if (!implicitTls && startTlsMode(flags.starttls) !== 'never' && hasExtension(first, 'STARTTLS'))
    await session.starttls();
  const report = (label: string, caps: Capabilities, tls: boolean) => {
    const judged = authMechanisms(caps).map((m) =>
      !tls && SENDS_PASSWORD.has(m)
        ? `${m} (UNSAFE here: the ${m === 'XOAUTH2' ? 'access token' : 'password'} would cross in clear)`
        : `${m} (ok)`,
    );
    session.emit({ type: 'info', message: `AUTH ${label}: ${judged.length ? judged.join(', ') : 'none offered'}` });
  };
  report(implicitTls ? 'over TLS' : 'before TLS', first, implicitTls);
  if (session.isTls && !implicitTls) report('after TLS', session.capabilities!, true);
  const last = authMechanisms(session.capabilities!);
  return `${where} offers ${last.length ? last.join(', ') : 'no AUTH'}${session.isTls ? ' over TLS' : ''}`;
}
