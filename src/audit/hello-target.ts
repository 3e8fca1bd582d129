import { hostSni, type ScanTarget } from '../scan/target.js';
import type { AuditOptions } from './options.js';
import type { MxAddress } from './smtp-probe.js';

/** Where the raw hellos go: the MX address on the audit's port, STARTTLS, SNI the MX name in A-labels. */
export function helloTarget(a: MxAddress, o: AuditOptions, remainingMs: number): ScanTarget {
  return {
    host: a.host,
    address: a.address,
    port: o.port,
    implicitTls: false,
    ehloName: o.ehloName,
    sni: hostSni(a.host),
    localAddress: undefined,
    timeoutMs: Math.min(o.waitMs, remainingMs),
  };
}
