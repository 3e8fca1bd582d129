import { checkVerdict } from '../scan/findings.js';
import type { ScanTarget } from '../scan/handshake.js';
import { scanTls, type ScanResult } from '../scan/scan.js';
import type { Check } from './result.js';

export interface TlsScanSettings {
  concurrency: number;
  timeoutMs: number;
}

/** probe --tls-scan: the scan's findings as two named checks, tls-protocols and tls-ciphers. */
export async function tlsScanChecks(
  target: ScanTarget,
  s: TlsScanSettings,
): Promise<{ checks: Check[]; scan: ScanResult }> {
  const scan = await scanTls(target, { concurrency: s.concurrency });
  const accepted = scan.protocols.filter((p) => p.accepted).map((p) => p.version);
  const describe = (check: 'tls-protocols' | 'tls-ciphers', ok: string) => {
    const mine = scan.findings.filter((f) => f.check === check && f.severity !== 'info');
    return mine.length ? mine.map((f) => f.message).join('; ') : ok;
  };
  const pairs = scan.protocols.reduce((n, p) => n + p.ciphers.length, 0);
  return {
    scan,
    checks: [
      {
        name: 'tls-protocols',
        status: checkVerdict(scan.findings, 'tls-protocols'),
        message: `${accepted.join(', ') || 'none'} accepted; ${describe('tls-protocols', 'no deprecated version')}`,
      },
      {
        name: 'tls-ciphers',
        status: checkVerdict(scan.findings, 'tls-ciphers'),
        message: `${pairs} version/suite pairs, key ${scan.certificate?.key ?? 'unknown'}; ${describe('tls-ciphers', 'no weak suite')}`,
      },
    ],
  };
}
