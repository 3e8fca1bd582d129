// --rate-limit: messages per client address, as a token bucket (N at once, then N per unit),
// the real limiter Mailpit's users asked for (its faults are only probabilities). Pure: the
// caller gives the time.

export interface RateLimit {
  /** Messages (MAIL commands answered 250) per `perMs` from one client address. */
  count: number;
  perMs: number;
  /** Where a client past the rate hears it: `mail` 421 4.7.0 and a hang-up; `rcpt` 450 4.7.1 at each RCPT. */
  reply: 'mail' | 'rcpt';
}

/** Where a client past the rate hears it; the first is the default. */
export const RATE_LIMIT_REPLIES = ['mail', 'rcpt'] as const;

const UNITS: Record<string, number> = { s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, hour: 3_600_000 };

/** `10/s`, `100/m`, `1000/h` (also /sec, /min, /hour); throws an Error that says what is wrong. */
export function parseRate(text: string): { count: number; perMs: number } {
  const m = /^\s*(\d{1,9})\s*\/\s*([a-z]+)\s*$/i.exec(text);
  const perMs = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || perMs === undefined || Number(m[1]) < 1)
    throw new Error(`a rate is messages per unit, 1 or more: 10/s, 100/m, 1000/h, not ${JSON.stringify(text)}`);
  return { count: Number(m[1]), perMs };
}

/** The rate as a person writes it: 10/s. */
export function rateText(limit: { count: number; perMs: number }): string {
  const unit =
    limit.perMs === 1000 ? 's' : limit.perMs === 60_000 ? 'm' : limit.perMs === 3_600_000 ? 'h' : `${limit.perMs}ms`;
  return `${limit.count}/${unit}`;
}

/** Addresses remembered at once; past this the longest idle one is forgotten (it had a full bucket or close to). */
const MAX_CLIENTS = 10_000;

export class RateLimiter {
  /** Tokens left and when they were counted, per client address; oldest use first. */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly limit: { count: number; perMs: number }) {}

  /** Takes one message's token for this client; false when it has none left (it is past the rate). */
  take(client: string, now: number): boolean {
    const { count, perMs } = this.limit;
    const b = this.buckets.get(client) ?? { tokens: count, at: now };
    b.tokens = Math.min(count, b.tokens + ((now - b.at) * count) / perMs);
    b.at = now;
    this.buckets.delete(client);
    this.buckets.set(client, b);
    if (this.buckets.size > MAX_CLIENTS) this.buckets.delete(this.buckets.keys().next().value as string);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
