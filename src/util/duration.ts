import { usageError } from '../errors.js';

/** "30s", "1500ms", "2m", or a bare number of seconds → milliseconds; `what` names it in the error (an option, a setting). */
export function durationMs(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/i.exec(text);
  if (!m) throw usageError(`${what}: ${JSON.stringify(text)} is not a duration (use e.g. 10s, 500ms, 2m)`);
  const unit = (m[2] ?? 's').toLowerCase();
  const ms = Number(m[1]) * (unit === 'ms' ? 1 : unit === 'm' ? 60_000 : 1000);
  if (!(ms > 0) || ms > 3_600_000) throw usageError(`${what}: must be more than 0 and at most 1 hour`);
  return Math.round(ms);
}

/** A wait's length as people write it: 1s, 500ms. */
export function describeTimeout(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
