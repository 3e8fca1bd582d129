import type { SmtpSession } from '../session/session.js';
import { aLabels } from '../protocol/idna.js';

/** How hard the scan works: handshakes at once, and each one's time limit. */
export interface ScanSettings {
  concurrency: number;
  timeoutMs: number;
}

// SNI carries A-labels (RFC 6066 §3), as the session's own handshake does.
const sniName = (name: string) => aLabels(name) ?? name;

/** The SNI for a host name; none for an address literal (RFC 6066 §3 allows names only). */
export const hostSni = (host: string): string | undefined => (/^[\d.]+$|:/.test(host) ? undefined : sniName(host));

/** The scan's target: the address the session reached, with the session's TLS mode and names. */
export function scanTargetOf(
  session: SmtpSession,
  address: string,
  implicitTls: boolean,
  timeoutMs: number,
): ScanTarget {
  const { tls, port, ehloName, localAddress } = session.options;
  const host = session.currentHost;
  const sni = tls.sni === false ? undefined : tls.sni !== undefined ? sniName(tls.sni) : hostSni(host);
  return { host, address: address || host, port, implicitTls, ehloName, sni, localAddress, timeoutMs };
}

/** Where and how to reach the TLS layer: STARTTLS after EHLO, or TLS at once (port 465). */
export interface ScanTarget {
  host: string;
  /** The address to connect to (the host itself unless resolved elsewhere). */
  address: string;
  port: number;
  implicitTls: boolean;
  ehloName: string;
  sni: string | undefined;
  localAddress: string | undefined;
  /** Each handshake's limit: connection, greeting, EHLO, STARTTLS and TLS together. */
  timeoutMs: number;
}
