import { usageError } from '../errors.js';

/**
 * Refuses a user-given value that would break out of its command line. Checked before
 * connecting, so a bad value never reaches a server (e.g. `--ehlo $'x\r\nMAIL FROM:<>'`).
 */
export function assertSingleLine(value: string, what: string): string {
  if (/[\r\n\0]/.test(value)) {
    throw usageError(
      `${what} contains a line break or NUL byte (${JSON.stringify(value)}); it would inject extra commands on the wire`,
    );
  }
  return value;
}

/** The command verb a line starts with, upper-cased: "mail from:<a@b>" → "MAIL". */
export function commandVerb(line: string): string {
  // The common case, "VERB arg" with no leading space, without a pattern (it runs per line).
  const space = line.indexOf(' ');
  const first = space < 0 ? line : line.slice(0, space);
  if (first && !/\s/.test(first)) return first.toUpperCase();
  return (/^\s*(\S+)/.exec(line)?.[1] ?? '').toUpperCase();
}

/** A domain or address literal acceptable as the EHLO/HELO argument. */
export function assertEhloName(name: string): string {
  assertSingleLine(name, '--ehlo');
  if (!name || /\s/.test(name))
    throw usageError(`--ehlo must be one word (a host name or [address literal]), got ${JSON.stringify(name)}`);
  return name;
}
