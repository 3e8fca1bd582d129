import { usageError } from '../../errors.js';
import type { AuthPlan, StartTlsMode } from '../../flows/establish.js';
import { declaredDefault, type OptionSpec } from '../declare.js';

/**
 * The login group: STARTTLS and AUTH, for auth, send and probe. Its parser loads SASL (and
 * with it node:crypto) only when it runs: the declarations are read at every start.
 */

/** As sasl/index.ts lists them (that module loads the mechanisms' crypto). */
export const MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5', 'PLAIN', 'LOGIN', 'XOAUTH2'] as const;

export interface LoginFlags {
  user?: string;
  password?: string;
  passwordEnv?: string;
  passwordFile?: string;
  mech?: string;
  starttls?: string;
  allowPlaintext?: boolean;
  showSecrets?: boolean;
  loginInitial?: boolean;
}

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
  return { starttls: startTlsMode(flags.starttls), auth: login ? await planAuth(flags, warn) : undefined };
}

function startTlsMode(value: string | undefined): StartTlsMode {
  const v = (value ?? declaredDefault(loginOptions(), 'starttls')).toLowerCase();
  if (v !== 'auto' && v !== 'always' && v !== 'never')
    throw usageError(`--starttls must be auto, always or never, not ${JSON.stringify(value)}`);
  return v;
}

/**
 * Everything about logging in that can be checked before connecting. The secret comes
 * from a flag, a file or the environment now, or from a prompt once login() has checked
 * that the server offers the mechanism; `around` runs that prompt (the REPL hands it the
 * terminal). SASL code loads only here, when a login is asked for.
 */
export async function planAuth(
  flags: LoginFlags,
  warn: (m: string) => void,
  around?: <T>(ask: (signal?: AbortSignal) => Promise<T>) => Promise<T>,
): Promise<AuthPlan> {
  const [{ assertSingleLine }, { isMechanism }, { saslprep }, { prepared }, { secretSource }] = await Promise.all([
    import('../../protocol/command.js'),
    import('../../sasl/index.js'),
    import('../../sasl/saslprep.js'),
    import('../../flows/establish.js'),
    import('../credentials.js'),
  ]);
  if (!flags.user) throw usageError('--user is required to authenticate');
  assertSingleLine(flags.user, '--user');
  const mech = flags.mech?.toUpperCase();
  if (mech !== undefined && !isMechanism(mech))
    throw usageError(
      `--mech ${flags.mech}: smtpkit speaks SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN and XOAUTH2`,
    );
  const passwordEnv = flags.passwordEnv ?? declaredDefault(loginOptions(), 'password-env');
  const source = secretSource({ ...flags, passwordEnv }, mech === 'XOAUTH2' ? 'OAuth token' : 'password', warn);
  // PLAIN and SCRAM prepare the user name (SASLprep): a prohibited character is bad input.
  // The password is prepared when it is read, before any AUTH line goes out.
  if (mech === 'PLAIN' || mech?.startsWith('SCRAM')) prepared(() => saslprep(flags.user!, 'the user name', false));
  return {
    user: flags.user,
    secret: around ? () => around(source) : source,
    mechanism: mech,
    allowPlaintext: !!flags.allowPlaintext,
    showSecrets: !!flags.showSecrets,
    loginInitial: !!flags.loginInitial,
  };
}
