import { ExitCode } from '../errors.js';
import { withAdvice } from './advice.js';
import { jsonDocument } from './json.js';
import type { Outcome } from './outcome.js';
import type { Output, OutputSpec } from './output.js';
import { printable } from './printable.js';
import { commandLineError } from './usage.js';

/**
 * How a run ends for a script, in one place for every command: -q's one line, and a failure
 * that has no transcript (bad input, found before any work) in the form the flags ask for.
 */

const CLASS_OF_EXIT = new Map<number, string>(Object.entries(ExitCode).map(([k, v]) => [v, k]));

/** The failure's class as -q and JSON name it: its own, or the one its exit code stands for. */
export function errorClassOf(o: Outcome): string {
  return o.errorClass ?? CLASS_OF_EXIT.get(o.exitCode) ?? 'internal';
}

/** The outcome with its class filled in when it failed (JSON's `outcome.errorClass`). */
export function classified(o: Outcome): Outcome {
  return o.ok || o.errorClass ? o : { ...o, errorClass: errorClassOf(o) as Outcome['errorClass'] };
}

/**
 * -q: exactly one line, whatever went wrong: `OK: ...` on stdout, `FAILED (exit N, class): ...`
 * on stderr, a usage error too (`FAILED (exit 2, usage): ...`), so a script that looks for
 * FAILED misses nothing.
 */
export function writeQuiet(output: Pick<Output, 'stdout' | 'stderr'>, o: Outcome): void {
  if (o.ok) output.stdout.write(`OK: ${printable(o.message)}\n`);
  else
    output.stderr.write(
      `FAILED (exit ${o.exitCode}, ${errorClassOf(o)}): ${printable(withAdvice(o.message, o.hint))}\n`,
    );
}

/**
 * A failure with no transcript or report around it (bad input, found before any work):
 * one JSON document with --json, the -q line, or `smtpkit: ...` / `*** ...` on stderr.
 */
export function writeBareFailure(
  output: Pick<Output, 'stdout' | 'stderr' | 'paint'>,
  command: string,
  o: Outcome,
  flags: Readonly<Pick<OutputSpec, 'json' | 'quiet'>>,
): void {
  if (flags.json) output.stdout.write(jsonDocument(command, null, classified(o), {}));
  else if (flags.quiet) writeQuiet(output, o);
  else if (o.errorClass === 'usage') output.stderr.write(commandLineError(withAdvice(o.message, o.hint)));
  else output.stderr.write(`${output.paint.red.bold(`*** ${printable(withAdvice(o.message, o.hint))}`)}\n`);
}
