import { outcomeOf, type Outcome } from '../errors.js';
import { writer } from './output.js';

/** A failure as an outcome; for a bug of ours, its stack on standard error when SMTPKIT_DEBUG asks. */
export function failureOutcome(err: unknown): Outcome {
  const o = outcomeOf(err);
  if (o.errorClass === 'internal' && process.env.SMTPKIT_DEBUG)
    writer(process.stderr).write(`${(err as Error)?.stack ?? err}\n`);
  return o;
}
