import { isIP } from 'node:net';
import { isHostName, type MxHost } from '../../dns/mx.js';
import type { Verdict } from '../check.js';

/**
 * An MX target lookupMx refused to look up (an address, ".", no host name: the mx check says
 * so) is never sent to DNS by another check either: its verdict, or undefined for a host name.
 */
export function refusedTarget(h: MxHost): Verdict | undefined {
  if (!isIP(h.exchange) && isHostName(h.exchange)) return undefined;
  return {
    subject: h.exchange,
    status: 'not-tested',
    summary: 'the MX target is no host name (see mx): never looked up',
  };
}
