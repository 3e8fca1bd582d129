import { checkVerdict } from '../../scan/findings.js';
import type { ScanTarget } from '../../scan/handshake.js';
import { scanTls, type ScanResult } from '../../scan/scan.js';
import type { TlsScanSettings } from '../probe-input.js';
import type { Check } from '../result.js';
import { connectedAddress, needed, type CheckContext, type ProbeCheck } from './context.js';

/** probe --tls-scan: the scan's findings as two named checks, tls-protocols and tls-ciphers. */
export async function tlsScanChecks(
  target: ScanTarget,
  s: TlsScanSettings,
): Promise<{ checks: [Check<'tls-protocols'>, Check<'tls-ciphers'>]; scan: ScanResult }> {
  const scan = await scanTls(target, { concurrency: s.concurrency, ...(s.signal ? { signal: s.signal } : {}) });
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

/** The scan of the host and port the probe reached, with the name (SNI) its handshake sent. */
export async function runTlsScan(ctx: CheckContext): Promise<[Check<'tls-protocols'>, Check<'tls-ciphers'>]> {
  const { session, target, settings } = ctx;
  const t = needed(session.tls, 'the TLS facts');
  const scanSettings = needed(settings.tlsScan, '--tls-scan');
  const { ehloName, localAddress, tls, port } = target.options;
  const found = await tlsScanChecks(
    {
      host: session.currentHost,
      address: connectedAddress(ctx) ?? session.currentHost,
      port,
      implicitTls: needed(ctx.plain, 'the EHLO answer').implicitTls,
      ehloName,
      sni: tls.sni === false ? undefined : (tls.sni ?? t.sni ?? undefined),
      localAddress,
      timeoutMs: scanSettings.timeoutMs,
    },
    scanSettings,
  );
  ctx.scan = found.scan;
  return found.checks;
}

export const tlsScan: ProbeCheck<'tls-protocols' | 'tls-ciphers'> = {
  names: ['tls-protocols', 'tls-ciphers'],
  when: (s, ctx) => !!s.tlsScan && !!ctx.session.tls,
  beside: true,
  run: runTlsScan,
};
