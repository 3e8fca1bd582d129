import type { Outcome } from '../errors.js';
import { jsonDocument } from './json.js';
import type { Output, OutputSpec } from './output.js';
import type { Paint } from './paint.js';
import { classified, writeBareFailure } from './print-outcome.js';
import { printable } from './printable.js';

/** What a command that reports findings (mx-lookup, spf, dkim-verify, check-message) has to say. */
export interface Report {
  command: string;
  /** JSON's `target`: the domain or file the command was about. */
  target: unknown;
  outcome: Outcome;
  /** The command's own JSON fields, after the envelope. */
  fields: Record<string, unknown>;
  /** The findings for people, on stdout before the outcome line ('' for none). */
  text: (paint: Paint) => string;
  /** Said as -q's line or `smtpkit: ...` alone, with no findings (default: a usage error). */
  bare?: boolean;
  /** Whether success gets its green `=== ...` line (spf's findings say it already). */
  sayOk?: boolean;
}

/** A failure as these reports say it: the line and its class, without the session's phase, reply or advice. */
export const plainFailure = (o: Outcome): Outcome => ({
  ok: o.ok,
  exitCode: o.exitCode,
  message: o.message,
  ...(o.errorClass ? { errorClass: o.errorClass } : {}),
});

/**
 * The one ending of a report, in the form asked for: a JSON document, -q's line, or the
 * findings and the outcome line (`=== ...` on stdout, `*** ...` on stderr). Returns the exit code.
 */
export function writeReport(output: Output, show: Readonly<Pick<OutputSpec, 'json' | 'quiet'>>, r: Report): number {
  const outcome = classified(r.outcome);
  const c = output.paint;
  if (show.json) output.stdout.write(jsonDocument(r.command, r.target, outcome, r.fields));
  else if (show.quiet || (r.bare ?? outcome.errorClass === 'usage')) writeBareFailure(output, r.command, outcome, show);
  else {
    const text = r.text(c);
    if (text) output.stdout.write(text);
    if (outcome.ok && r.sayOk !== false) output.stdout.write(`${c.green.bold(`=== ${printable(outcome.message)}`)}\n`);
    else if (!outcome.ok) output.stderr.write(`${c.red.bold(`*** ${printable(outcome.message)}`)}\n`);
  }
  return outcome.exitCode;
}
