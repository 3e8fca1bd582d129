import { readFileSync } from 'node:fs';
import { SmtpkitError, usageError } from '../errors.js';

export interface SecretFlags {
  user?: string;
  password?: string;
  passwordEnv?: string;
  passwordFile?: string;
}

export const DEFAULT_PASSWORD_ENV = 'SMTPKIT_PASSWORD';

/**
 * The secret, from (in order) --password, --password-file, the environment, or a masked
 * prompt on a terminal. Read before connecting, so no prompt waits inside a live session.
 * Off a terminal with nothing given it is a usage error, never a prompt.
 */
export async function readSecret(flags: SecretFlags, what: string, warn: (message: string) => void): Promise<string> {
  if (flags.password !== undefined) {
    warn('--password is visible to other users of this machine (ps, shell history); prefer SMTPKIT_PASSWORD or --password-file');
    return flags.password;
  }
  if (flags.passwordFile !== undefined) {
    try {
      return readFileSync(flags.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw usageError(`--password-file: cannot read ${flags.passwordFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const envName = flags.passwordEnv ?? DEFAULT_PASSWORD_ENV;
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw usageError(`no ${what} given: set ${envName}, or use --password-file (smtpkit prompts only on a terminal)`);
  }
  const { password } = await import('@inquirer/prompts');
  try {
    return await password({ message: `${what} for ${flags.user ?? 'the account'}:`, mask: '*' }, { output: process.stderr });
  } catch {
    throw new SmtpkitError('usage', `no ${what} entered`);
  }
}
