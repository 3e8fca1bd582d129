import { SmtpkitError, usageError } from '../errors.js';
import { authMechanisms, hasExtension } from '../protocol/capabilities.js';
import { saslClient, SENDS_PASSWORD, strongestOffered, type MechanismName } from '../sasl/index.js';
import type { Credentials } from '../sasl/mechanism.js';
import { SaslprepError } from '../sasl/saslprep.js';
import { authenticate } from '../session/auth.js';
import type { SmtpSession } from '../session/session.js';

export type StartTlsMode = 'auto' | 'always' | 'never';

/** A secret known now, or a prompt to ask for it once it is needed (`signal` cancels the prompt). */
export type SecretSource = (signal?: AbortSignal) => Promise<string>;

export interface AuthPlan {
  user: string;
  /** Read when it is needed: after the server has shown that this login can happen. */
  secret: SecretSource;
  mechanism: MechanismName | undefined;
  allowPlaintext: boolean;
  showSecrets: boolean;
  loginInitial: boolean;
}

/** Greeting, EHLO, and STARTTLS as the mode asks (implicit TLS needs none). */
export async function greetAndSecure(
  session: SmtpSession,
  mode: StartTlsMode,
  stopAfter?: (step: 'connect' | 'ehlo' | 'tls') => boolean,
): Promise<boolean> {
  if (mode !== 'never') session.expectTls();
  await session.connect();
  if (stopAfter?.('connect')) return true;
  const caps = await session.ehlo();
  if (stopAfter?.('ehlo')) return true;
  if (session.options.requireStartTls && mode === 'auto') mode = 'always';
  if (!session.isTls && mode !== 'never') {
    if (hasExtension(caps, 'STARTTLS')) await session.starttls();
    else if (mode === 'always')
      await session.starttls(); // fails, naming what is missing
    else session.emit({ type: 'warning', message: 'the server offers no STARTTLS: this session stays unencrypted' });
  }
  return stopAfter?.('tls') ?? false;
}

/** AUTH with the planned or strongest offered mechanism; refuses to do it in clear unless allowed. */
export async function login(session: SmtpSession, plan: AuthPlan): Promise<MechanismName> {
  const offered = session.capabilities ? authMechanisms(session.capabilities) : [];
  if (!offered.length) {
    throw new SmtpkitError(
      'auth',
      `the server offers no AUTH here${session.isTls ? '' : ' (many servers offer it only after STARTTLS, or only on port 587)'}`,
      'auth',
    );
  }
  const mechanism = plan.mechanism ?? strongestOffered(offered);
  if (!mechanism)
    throw new SmtpkitError(
      'auth',
      `none of the offered mechanisms (${offered.join(', ')}) is one smtpkit speaks, and XOAUTH2 is used only when named`,
      'auth',
      { hint: { kind: 'choose-mechanism' } },
    );
  if (!offered.includes(mechanism))
    throw new SmtpkitError('auth', `the server does not offer ${mechanism}; it offers ${offered.join(', ')}`, 'auth');
  if (!session.isTls && !plan.allowPlaintext) {
    throw new SmtpkitError(
      'auth',
      `refusing to send credentials without TLS${SENDS_PASSWORD.has(mechanism) ? ` (${mechanism} sends the ${mechanism === 'XOAUTH2' ? 'access token' : 'password'} itself)` : ''}`,
      'auth',
      { hint: { kind: 'allow-plaintext' } },
    );
  }
  const credentials: Credentials = { user: plan.user, secret: await plan.secret() };
  const client = prepared(() =>
    saslClient(mechanism, credentials, {
      loginInitial: plan.loginInitial,
      onXoauthError: (json) => session.emit({ type: 'info', message: `XOAUTH2 error from the server: ${json}` }),
    }),
  );
  await authenticate(session, client, plan.showSecrets);
  return mechanism;
}

/** SASLprep's refusals are the user's input at fault: exit 2, naming the character. */
export function prepared<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SaslprepError) throw usageError(err.message);
    throw err;
  }
}
