import { SmtpkitError, usageError } from '../errors.js';
import type { SecretSource } from '../flows/establish.js';
import { endingPrompt } from '../render/prompt.js';
import { readSmallFile } from '../util/read-file.js';

export interface SecretFlags {
  user?: string;
  password?: string;
  /** The login group fills in its declared default. */
  passwordEnv: string;
  passwordFile?: string;
}

/** Far above any password or OAuth token. */
const PASSWORD_FILE_LIMIT = 64 * 1024;

/**
 * The secret, from (in order) --password, --password-file, the environment, or a masked
 * prompt on a terminal. The first three are read at once, so a bad file is a usage error
 * before connecting; the prompt is only returned, to be asked once the server has shown
 * that logging in is possible (no one types a password for a server that is down).
 * Off a terminal with nothing given it is a usage error, never a prompt.
 */
export function secretSource(flags: SecretFlags, what: string, warn: (message: string) => void): SecretSource {
  const known = (secret: string) => () => Promise.resolve(secret);
  if (flags.password !== undefined) {
    warn(
      '--password is visible to other users of this machine (ps, shell history); prefer SMTPKIT_PASSWORD or --password-file',
    );
    return known(flags.password);
  }
  if (flags.passwordFile !== undefined) {
    // Bounded: a password or token is short; /dev/zero must not fill memory.
    return known(readSmallFile(flags.passwordFile, '--password-file', PASSWORD_FILE_LIMIT).replace(/\r?\n$/, ''));
  }
  const envName = flags.passwordEnv;
  const fromEnv = process.env[envName];
  if (fromEnv) return known(fromEnv);
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw usageError(`no ${what} given: set ${envName}, or use --password-file (smtpkit prompts only on a terminal)`);
  }
  let asked: Promise<string> | undefined;
  return (signal) => (asked ??= askSecret(`${what} for ${flags.user ?? 'the account'}:`, what, signal));
}

async function askSecret(message: string, what: string, signal?: AbortSignal): Promise<string> {
  const { password } = await import('@inquirer/prompts');
  try {
    // No Ctrl-T to reveal it: a secret typed here never shows on screen.
    return await endingPrompt(
      (s) => password({ message, mask: '*', toggleMask: false }, { output: process.stderr, signal: s }),
      signal,
    );
  } catch {
    throw new SmtpkitError('usage', `no ${what} entered (cancelled)`);
  }
}
