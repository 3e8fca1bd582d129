import { usageError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * "30s", "1500ms", "2m", "6h", or a bare number of seconds → milliseconds; `what` names it in
 * the error (an option, a setting). At most an hour unless the caller allows `maxHours` (a cache's life).
 */
export function durationMs(text: string, what: string, maxHours = 1): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!m) throw usageError(`${what}: ${JSON.stringify(text)} is not a duration (use e.g. 10s, 500ms, 2m)`);
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? 's').toLowerCase()]!;
  if (!(ms > 0) || ms > maxHours * 3_600_000)
    throw usageError(`${what}: must be more than 0 and at most ${maxHours === 1 ? '1 hour' : `${maxHours} hours`}`);
  return Math.round(ms);
}

/** A wait's length as people write it: 1s, 500ms. */
export function describeTimeout(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
