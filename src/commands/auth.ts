import { authMechanisms, hasExtension, type Capabilities } from '../protocol/capabilities.js';
import { formatTarget } from '../protocol/target.js';
import { SENDS_PASSWORD } from '../sasl/index.js';
import type { SmtpSession } from '../session/session.js';
import { greetAndSecure, login, type AuthPlan, type StartTlsMode } from '../flows/establish.js';

export interface AuthSpec {
  starttls: StartTlsMode;
  /** Undefined with --list: only the mechanisms are shown. */
  auth: AuthPlan | undefined;
}

/** Log in and report; with --list, only show which mechanisms are offered before and after TLS. */
export async function auth(session: SmtpSession, spec: Readonly<AuthSpec>): Promise<string> {
  const where = formatTarget(session.options.host, session.options.port);
  if (!spec.auth) return listMechanisms(session, spec.starttls, where);
  await greetAndSecure(session, spec.starttls);
  const mechanism = await login(session, spec.auth);
  return `authenticated to ${where} as ${spec.auth.user} with ${mechanism}${session.isTls ? ' over TLS' : ' WITHOUT TLS'}`;
}

async function listMechanisms(session: SmtpSession, starttls: StartTlsMode, where: string): Promise<string> {
  if (starttls !== 'never') session.expectTls();
  await session.connect();
  const first = await session.ehlo();
  const implicitTls = session.isTls;
  if (!implicitTls && starttls !== 'never' && hasExtension(first, 'STARTTLS')) await session.starttls();
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
