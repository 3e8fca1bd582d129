import { processOutput, type OutputSpec } from '../render/output.js';
import { progress } from '../render/progress.js';
import type { SmtpSession } from '../session/session.js';
import type { ScanTarget } from './handshake.js';
import { scanReport } from './render.js';
import { scanTls, type ScanResult } from './scan.js';
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

/** Runs the scan with a spinner where a person watches. */
export async function runScan(target: ScanTarget, concurrency: number): Promise<ScanResult> {
  const spinner = await progress('TLS scan');
  try {
    return await scanTls(target, {
      concurrency,
      onProgress: spinner ? (d, p) => spinner.update(`TLS scan: ${d}/${p} handshakes`) : undefined,
    });
  } finally {
    spinner?.stop();
  }
}

/** The table for people; nothing for --json (the result goes in the document) or --quiet. */
export async function printScan(r: ScanResult, show: Readonly<OutputSpec>): Promise<void> {
  if (show.json || show.quiet) return;
  const output = await processOutput(show);
  output.stdout.write(scanReport(r, output.paint));
}

export function scanSummary(r: ScanResult): string {
  const accepted = r.protocols.filter((p) => p.accepted).map((p) => p.version);
  const n = (s: string) => r.findings.filter((f) => f.severity === s).length;
  return `scan: ${accepted.join(', ') || 'no version'} accepted; ${r.protocols.reduce((a, p) => a + p.ciphers.length, 0)} version/suite pairs; ${n('fail')} failed, ${n('warn')} warnings`;
}
