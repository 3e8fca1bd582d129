import type { ErrorClass, Hint } from '../errors.js';
import type { SmtpEvent, Timings } from '../session/events.js';
import type { TlsFacts } from '../session/tls-facts.js';
import type { ScanResult } from '../scan/scan.js';
import type { CheckName } from './checks/names.js';

/** inconclusive: the test ran but the answers cannot decide it (neither a pass nor a problem found). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'inconclusive';

/** One named check of a probe: what was looked at, the verdict, and why, in words. */
export interface Check<N extends CheckName = CheckName> {
  name: N;
  status: CheckStatus;
  message: string;
  /** What was tried, one entry per attempt (open-relay forms, enumeration commands). */
  attempts?: Attempt[];
}

/** One scripted try inside a check: the commands sent and the server's answer. */
export interface Attempt {
  /** The address form or command tried ("percent-hack", "VRFY known"). */
  form: string;
  commands: string[];
  reply: string;
  /** Whether the server said yes (2xx) to the last command. */
  accepted: boolean;
}

export interface ProbeResult {
  /** As the user wrote it (or the MX host and address). */
  target: string;
  host: string;
  port: number;
  checks: Check[];
  /** Which rule judged the certificate (null without TLS): see certificatePolicy(). */
  certificatePolicy: { rule: string; enforced: boolean } | null;
  /** With --dane: the host's TLSA records and whether they matched (as starttls --dane reports it). */
  dane?: unknown;
  /** What the handshake established (chain with dates as ISO strings, days and key bits as numbers). */
  tls: TlsFacts | null;
  timings: Timings;
  totalMs: number;
  /** totalMs less smtpkit's own waits (the implicit-TLS check): what the response-time check and Nagios judge. */
  responseMs: number;
  exitCode: number;
  /** The failure that stopped the probe early, if any. */
  error: { errorClass: ErrorClass | 'internal'; message: string; phase?: string; hint?: Hint } | null;
  events: SmtpEvent[];
  /** probe --tls-scan: the whole scan. */
  scan?: ScanResult;
}

export const MARKS: Record<CheckStatus, string> = { pass: '✔', warn: '⚠', fail: '✖', inconclusive: '?' };

export function counts(r: ProbeResult) {
  return {
    pass: r.checks.filter((c) => c.status === 'pass').length,
    warn: r.checks.filter((c) => c.status === 'warn').length,
    fail: r.checks.filter((c) => c.status === 'fail').length + (r.error ? 1 : 0),
    inconclusive: r.checks.filter((c) => c.status === 'inconclusive').length,
  };
}

/**
 * The monitoring-plugins status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. Under --strict a
 * warning is a failure, so CRITICAL: the same verdict as the other formats give.
 */
export function nagiosStatus(r: ProbeResult, strict = false): 0 | 1 | 2 | 3 {
  if (r.error) return r.error.errorClass === 'usage' || r.error.errorClass === 'internal' ? 3 : 2;
  const c = counts(r);
  return c.fail ? 2 : c.warn ? (strict ? 2 : 1) : 0;
}

/** A check's status as the verdict counts it: under --strict a warning is a failure. */
export const judged = (status: CheckStatus, strict: boolean): CheckStatus =>
  strict && status === 'warn' ? 'fail' : status;

/** The exit code of one probe: 1 for warnings under --strict, else the probe's own. */
export const strictExit = (r: ProbeResult, strict: boolean): number =>
  r.exitCode === 0 && strict && counts(r).warn ? 1 : r.exitCode;
