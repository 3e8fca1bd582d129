import type { OptionSpec } from '../declare.js';
import type { AuthFlags, AuthPlan, StartTlsMode } from '../../flows/establish.js';

/**
 * The login group: STARTTLS and AUTH, for auth, send and probe. Its parser loads SASL (and
 * with it node:crypto) only when it runs: the declarations are read at every start.
 */

/** As sasl/index.ts lists them (that module loads the mechanisms' crypto). */
export const MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5', 'PLAIN', 'LOGIN', 'XOAUTH2'] as const;

export type LoginFlags = AuthFlags;

export interface LoginSpec {
  starttls: StartTlsMode;
  /** Undefined when the command line asks for no login. */
  auth: AuthPlan | undefined;
}

export function loginOptions(): OptionSpec[] {
  return [
    {
      flags: '--user <name>',
      help: 'user name to log in with (swaks: -au, --auth-user)',
      aliases: ['--auth-user', '-au'],
    },
    {
      flags: '--mech <mechanism>',
      help: 'SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN or XOAUTH2 (default: the strongest offered)',
      choices: MECHANISMS,
    },
    {
      flags: '--password-env <var>',
      help: 'environment variable holding the password or token',
      default: 'SMTPKIT_PASSWORD',
      aliases: ['--auth-password-env'],
    },
    { flags: '--password-file <file>', help: 'read the password or token from a file', complete: 'file' },
    {
      flags: '--password <secret>',
      help: 'the password on the command line (visible to other users: avoid)',
      aliases: ['--auth-password', '-ap'],
    },
    { flags: '--login-initial', help: 'LOGIN: send the user name with the AUTH command' },
    {
      flags: '--starttls <mode>',
      help: 'auto (when offered), always, or never',
      default: 'auto',
      choices: ['auto', 'always', 'never'],
    },
    { flags: '--tls', help: 'the same as --starttls always (swaks’ name)', implies: { starttls: 'always' } },
    { flags: '--allow-plaintext', help: 'send credentials even without TLS' },
    { flags: '--show-secrets', help: 'show AUTH lines unredacted (for debugging a mechanism; never in shared logs)' },
  ];
}

/**
 * `login`: whether this command line logs in (auth always; send and probe with --auth or
 * --user). `warn` says what is unwise but allowed (--password on the command line).
 */
export async function loginSpec(
  flags: LoginFlags,
  login: boolean,
  warn: (message: string) => void,
): Promise<Readonly<LoginSpec>> {
  const { planAuth, startTlsMode } = await import('../../flows/establish.js');
  return { starttls: startTlsMode(flags.starttls), auth: login ? planAuth(flags, warn) : undefined };
}
