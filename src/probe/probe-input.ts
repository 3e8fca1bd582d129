import type { Resolver } from '../dns/resolver.js';
import type { AuthPlan } from '../flows/establish.js';
import type { SessionOptions } from '../session/session.js';

/** probe --tls-scan: versions and suites tried at once, and each handshake's limit. */
export interface TlsScanSettings {
  concurrency: number;
  timeoutMs: number;
  /** Stops the scan between handshakes (an audit's deadline). */
  signal?: AbortSignal;
}

/** What a probe is asked to judge, already typed (the command line's parsing lives above). */
export interface ProbeSettings {
  expectBanner: RegExp | undefined;
  /** check_smtp's -e: text the greeting must contain. */
  expectText?: string;
  /** STARTTLS must be offered (-S, --starttls always): its absence fails instead of warning. */
  requireStartTls?: boolean;
  warnDays: number;
  critDays: number;
  /** Thresholds in ms: "total" or a phase name → limit. */
  warnMs: Record<string, number>;
  critMs: Record<string, number>;
  auth: AuthPlan | undefined;
  from: string | undefined;
  rcpt: string | undefined;
  relayTest: boolean;
  /** Set for --enum-test: VRFY, EXPN and RCPT for a known and a random user. */
  enumTest?: boolean;
  /** Set for --tls-scan. */
  tlsScan?: TlsScanSettings;
  /** Set for --ptr and --dnsbl. */
  resolver: Resolver | undefined;
  ptr?: boolean;
  /** --dnsbl: the lists to look the server's address up in. */
  dnsbl?: string[];
  /** The whole probe's time limit. */
  totalMs: number;
  /** --dane: DANE (RFC 7672) judges the certificate with TLSA records from this resolver. */
  daneResolver?: Resolver;
  /** --save-cert: told each target's presented chain (DER, leaf first), empty without TLS. */
  onCertificates?: (target: ProbeTarget, chain: Buffer[]) => void;
}

export interface ProbeTarget {
  label: string;
  options: SessionOptions;
  /** An MX host of a domain (--mx): server-to-server delivery, whatever the port. */
  mx?: boolean;
  /** The domain publishes an MTA-STS policy in enforce mode covering this host. */
  mtaStsEnforce?: boolean;
  /** With --mx: the domain whose mail host this is (its postmaster is a known address). */
  domain?: string;
}
