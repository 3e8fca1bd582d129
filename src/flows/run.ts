import { SmtpkitError } from '../errors.js';
import { writer } from '../render/output.js';
import type { Outcome } from '../render/outcome.js';
import type { OutputFlags, SessionFlags } from './options.js';

/** The flags every session command shares (probe's settings still read them: moving to src/cli/). */
export type Flags = SessionFlags & OutputFlags;

export const INTERNAL_ERROR_EXIT = 70;

export function failureOutcome(err: unknown): Outcome {
  if (err instanceof SmtpkitError) {
    return {
      ok: false,
      exitCode: err.exitCode,
      message: err.message,
      errorClass: err.errorClass,
      ...(err.phase ? { phase: err.phase } : {}),
      ...(err.kind !== 'other' ? { kind: err.kind } : {}),
      ...(err.reply ? { reply: err.reply } : {}),
      ...(err.hint ? { hint: err.hint } : {}),
    };
  }
  // Not a failure we foresaw: a bug. Say so plainly; the stack only on request.
  const message = `internal error: ${(err as Error)?.message ?? String(err)} (this is a bug in smtpkit; SMTPKIT_DEBUG=1 shows details)`;
  if (process.env.SMTPKIT_DEBUG) writer(process.stderr).write(`${(err as Error)?.stack ?? err}\n`);
  return { ok: false, exitCode: INTERNAL_ERROR_EXIT, message, errorClass: 'internal' };
}
