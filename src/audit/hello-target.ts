import { aLabels } from '../protocol/idna.js';
import type { ScanTarget } from '../scan/handshake.js';
import type { AuditOptions } from './options.js';
import type { MxAddress } from './smtp-probe.js';

/** Where the raw hellos go: the MX address on the audit's port, STARTTLS, SNI the MX name in A-labels. */
export function helloTarget(a: MxAddress, o: AuditOptions, remainingMs: number): ScanTarget {
  const name = /^[\d.]+$|:/.test(a.host) ? undefined : a.host;
  return {
    host: a.host,
    address: a.address,
    port: o.port,
    implicitTls: false,
    ehloName: o.ehloName,
    sni: name === undefined ? undefined : (aLabels(name) ?? name),
    localAddress: undefined,
    timeoutMs: Math.min(o.waitMs, remainingMs),
  };
}
