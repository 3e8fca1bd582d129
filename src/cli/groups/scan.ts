import { usageError } from '../../errors.js';
import { declaredDefault, type OptionSpec } from '../declare.js';
import type { ScanSettings } from '../../scan/target.js';
import { durationMs } from '../../util/duration.js';

/** The scan group: the TLS scan's handshakes (starttls --scan, probe --tls-scan). */

export interface ScanFlags {
  scanConcurrency?: string;
  tlsTimeout?: string;
}

/** `help`: what the scan is called on this command (--scan, --tls-scan). */
export function scanOptions(during: string): OptionSpec[] {
  return [{ flags: '--scan-concurrency <n>', help: `handshakes at once during ${during}`, default: '8' }];
}

/**
 * Each scan handshake's limit when --tls-timeout is not given: the scan makes dozens, and
 * --timeout's 30s for each would turn one silent cipher into minutes.
 */
const SCAN_HANDSHAKE_TIMEOUT = '5s';

export function scanSpec(flags: ScanFlags): Readonly<ScanSettings> {
  const concurrency = Number(flags.scanConcurrency ?? declaredDefault(scanOptions(''), 'scan-concurrency'));
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw usageError('--scan-concurrency takes a whole number from 1 to 64');
  return { concurrency, timeoutMs: durationMs(flags.tlsTimeout ?? SCAN_HANDSHAKE_TIMEOUT, '--tls-timeout') };
}
