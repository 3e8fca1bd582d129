import type { SmtpSession } from '../session/session.js';
import type { ScanTarget } from './handshake.js';
import { aLabels } from '../protocol/idna.js';

/** How hard the scan works: handshakes at once, and each one's time limit. */
export interface ScanSettings {
  concurrency: number;
  timeoutMs: number;
}

/** The scan's target: the address the session reached, with the session's TLS mode and names. */
export function scanTargetOf(
  session: SmtpSession,
  address: string,
  implicitTls: boolean,
  timeoutMs: number,
): ScanTarget {
  const { tls, port, ehloName, localAddress } = session.options;
  const host = session.currentHost;
  const name = tls.sni === false ? undefined : (tls.sni ?? (/^[\d.]+$|:/.test(host) ? undefined : host));
  // SNI carries A-labels (RFC 6066 §3), as the session's own handshake does.
  const sni = name === undefined ? undefined : (aLabels(name) ?? name);
  return { host, address: address || host, port, implicitTls, ehloName, sni, localAddress, timeoutMs };
}
