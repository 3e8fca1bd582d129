import { formatTarget } from '../protocol/target.js';
import type { SessionResult } from '../render/json.js';
import { processOutput, type OutputSpec } from '../render/output.js';
import type { ScanSettings } from '../scan/target.js';
import type { SmtpSession } from '../session/session.js';
import { applyMx, type MxSpec } from './mx-option.js';

export interface StarttlsSpec {
  mx: Readonly<MxSpec>;
  /** --scan: every TLS version and cipher suite too. */
  scan: Readonly<ScanSettings> | undefined;
  output: Readonly<OutputSpec>;
}

/** EHLO, STARTTLS, handshake, EHLO again; with implicit TLS the handshake has already happened. --scan adds the TLS scan. */
export async function starttls(
  session: SmtpSession,
  spec: Readonly<StarttlsSpec>,
  details: SessionResult,
): Promise<string> {
  const mx = await applyMx(session, spec.mx);
  let implicitTls = false;
  try {
    session.expectTls();
    await session.connect();
    await session.ehlo();
    implicitTls = session.isTls;
    if (!session.isTls) await session.starttls();
    await mx.dane();
  } finally {
    const dane = mx.daneResult();
    if (dane) details.dane = dane;
  }
  const t = session.tls;
  const by = session.certificateVerdict;
  const verdict = !t
    ? ''
    : by?.nameWaived
      ? `authenticated by ${by.by} (name and CA not checked)`
      : [
          by ? `trusted through ${by.by}` : t.trusted ? 'trusted' : 'UNTRUSTED',
          t.nameMatches ? 'name matches' : 'NAME MISMATCH',
        ].join(', ');
  const line = `${formatTarget(session.currentHost, session.options.port)}: ${t?.protocol} ${t?.cipher}; certificate ${verdict}`;
  if (!spec.scan) return line;
  const [{ scanTargetOf }, { scanTls }, { progress }, { scanSummary, writeScan }] = await Promise.all([
    import('../scan/target.js'),
    import('../scan/scan.js'),
    import('../render/progress.js'),
    import('../render/scan.js'),
  ]);
  const spinner = await progress('TLS scan');
  let result;
  try {
    result = await scanTls(scanTargetOf(session, session.remoteAddress, implicitTls, spec.scan.timeoutMs), {
      concurrency: spec.scan.concurrency,
      onProgress: spinner ? (d, p) => spinner.update(`TLS scan: ${d}/${p} handshakes`) : undefined,
    });
  } finally {
    spinner?.stop();
  }
  details.scan = result;
  writeScan(await processOutput(spec.output), spec.output, result);
  return `${line}; ${scanSummary(result)}`;
}
