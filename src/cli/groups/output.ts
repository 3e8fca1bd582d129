import type { OptionSpec } from '../declare.js';
import type { OutputSpec } from '../../render/output.js';

/** The output group: how a run is shown (--json, -q, --brief, -v, --no-color). */

export interface OutputFlags {
  json?: boolean;
  quiet?: boolean;
  brief?: boolean;
  verbose?: boolean;
  color?: boolean;
}

/** Commands that show a transcript: JSON, one line, brief, or the raw bytes too. */
export function outputOptions(): OptionSpec[] {
  return [
    { flags: '--json', help: 'print one JSON document instead of the transcript' },
    { flags: '-q, --quiet', help: 'print only the outcome line', aliases: ['--silent'] },
    { flags: '--brief', help: 'one line per exchange; explanations only for failures and warnings' },
    { flags: '-v, --verbose', help: 'also show the raw bytes sent and received' },
    { flags: '--no-color', help: 'no colours (also: NO_COLOR=1)' },
  ];
}

/** Commands that report findings rather than a transcript: JSON, one line, or plain. */
export function reportOptions(): OptionSpec[] {
  return [
    { flags: '--json', help: 'print one JSON document' },
    { flags: '-q, --quiet', help: 'print only the outcome line' },
    { flags: '--no-color', help: 'no colours (also: NO_COLOR=1)' },
  ];
}

export function outputSpec(flags: OutputFlags): Readonly<OutputSpec> {
  return {
    json: !!flags.json,
    quiet: !!flags.quiet,
    brief: !!flags.brief,
    verbose: !!flags.verbose,
    // commander gives --no-color's switch as true unless it was given.
    color: flags.color === false ? false : undefined,
  };
}
