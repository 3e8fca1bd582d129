import { DnsFailure } from '../../dns/resolver.js';
import type { Verdict } from '../check.js';

/** A failed DNS look-up inside a check: its verdict is a failure naming the resolver's reason. */
export function dnsFailed(err: unknown, what: string): Verdict {
  if (!(err instanceof DnsFailure)) throw err;
  return { status: 'fail', summary: `${what}: the DNS look-up failed (${err.short})`, evidence: [err.message] };
}
