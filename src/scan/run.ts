import { usageError } from '../errors.js';
import { processOutput } from '../render/output.js';
import type { SmtpSession } from '../session/session.js';
import { parseDuration } from '../session/timeouts.js';
import type { ScanTarget } from './handshake.js';
import { scanReport } from './render.js';
import { scanTls, type ScanResult } from './scan.js';
import { aLabels } from '../protocol/idna.js';

export interface ScanFlags {
  scanConcurrency?: string;
  tlsTimeout?: string;
  sni?: string | false;
  localAddress?: string;
  json?: boolean;
  quiet?: boolean;
  color?: boolean;
}

/** How hard the scan works: handshakes at once, and each one's time limit. */
export interface ScanSettings {
  concurrency: number;
  timeoutMs: number;
}

/** The scan's settings, checked before anything connects. */
export function scanSettings(flags: ScanFlags): ScanSettings {
  const concurrency = flags.scanConcurrency === undefined ? 8 : Number(flags.scanConcurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw usageError('--scan-concurrency takes a whole number from 1 to 64');
  return { concurrency, timeoutMs: parseDuration(flags.tlsTimeout ?? '5s', '--tls-timeout') };
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

/** Runs the scan with a spinner where a person watches (ora facts: decide isEnabled ourselves). */
export async function runScan(target: ScanTarget, concurrency: number): Promise<ScanResult> {
  const tty =
    process.stderr.isTTY && (process.stderr.columns ?? 0) > 0 && !process.env.CI && process.env.TERM !== 'dumb';
  const spinner = tty
    ? (await import('ora')).default({ text: 'TLS scan', stream: process.stderr, discardStdin: false }).start()
    : undefined;
  try {
    return await scanTls(target, {
      concurrency,
      onProgress: spinner ? (d, p) => (spinner.text = `TLS scan: ${d}/${p} handshakes`) : undefined,
    });
  } finally {
    spinner?.stop();
  }
}

/** The table for people; nothing for --json (the result goes in the document) or --quiet. */
export async function printScan(r: ScanResult, flags: Pick<ScanFlags, 'json' | 'quiet' | 'color'>): Promise<void> {
  if (flags.json || flags.quiet) return;
  const output = await processOutput(flags);
  output.stdout.write(scanReport(r, output.paint));
}

export function scanSummary(r: ScanResult): string {
  const accepted = r.protocols.filter((p) => p.accepted).map((p) => p.version);
  const n = (s: string) => r.findings.filter((f) => f.severity === s).length;
  return `scan: ${accepted.join(', ') || 'no version'} accepted; ${r.protocols.reduce((a, p) => a + p.ciphers.length, 0)} version/suite pairs; ${n('fail')} failed, ${n('warn')} warnings`;
}
