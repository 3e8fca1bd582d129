import type { Resolver } from '../dns/resolver.js';

/** Not options: internet.nl probes at most 10 MX hosts; the smuggling test's pause after each variant. */
export const AUDIT_MAX_MX = 10;
export const AUDIT_SMUGGLING_PAUSE_MS = 2000;

/** What the caller decides; defaults live in the CLI's declaration, not here. */
export interface AuditOptions {
  /** The domain, already checked (IDNA, no trailing dot). */
  domain: string;
  resolver: Resolver;
  /** Every SMTP probe goes to this port (25; another for test beds). */
  port: number;
  /** The whole audit ends by then, whatever the servers do. */
  timeoutMs: number;
  /** Each network wait of an SMTP session (connect, greeting, command, handshake). */
  waitMs: number;
  ehloName: string;
  /** Extra trusted CA (PEM) for the MTA-STS policy server and SMTP certificates. */
  ca?: string;
  /** Port of the MTA-STS policy server (443). */
  httpsPort: number;
  /** DKIM selectors whose keys are judged; none: common selectors are tried. */
  dkimSelectors: string[];
  /** DNS blocklists each MX address is looked up in. */
  dnsbl: string[];
  /** Parallel handshakes of the cipher scan. */
  scanConcurrency: number;
  /** --smuggling-rcpt: the tester's own address; the smuggling test sends it one message per variant. */
  smugglingRcpt?: string;
  /** How long the smuggling test waits after each variant for an early answer. */
  smugglingPauseMs: number;
  /** At most this many MX hosts are probed (internet.nl: 10). */
  maxMx: number;
  /** --rpki-validator and where origins come from; absent: the rpki check is not tested. */
  rpki?: RpkiOptions;
}

export interface RpkiOptions {
  /** Base URL of a Routinator HTTP API (http or https, no credentials). */
  validator: string;
  /** IP-to-ASN zones answering TXT "ASN | prefix | ..." at reversed IPv4 octets and IPv6 nibbles. */
  asnZones: { v4: string; v6: string };
}

export type AuditSettings = Omit<AuditOptions, 'domain'>;
