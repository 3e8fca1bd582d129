import { formatTarget } from '../protocol/target.js';
import { applyMx, mxSpec, type MxOption } from './mx-option.js';
import { runSession, type Flags } from '../flows/run.js';
import type { ScanFlags } from '../scan/run.js';

/** EHLO, STARTTLS, handshake, EHLO again; with implicit TLS the handshake has already happened. --scan adds the TLS scan. */
export async function starttls(
  spec: string | undefined,
  flags: Flags & MxOption & ScanFlags & { scan?: boolean },
): Promise<number> {
  const scan = flags.scan ? await import('../scan/run.js') : undefined;
  let address = '';
  return runSession(
    'starttls',
    mxSpec(spec, flags),
    flags,
    async (session, details) => {
      const settings = scan?.scanSettings(flags);
      const mx = await applyMx(session, spec, flags);
      let implicitTls = false;
      try {
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
      if (!scan || !settings) return line;
      const result = await scan.runScan(
        scan.scanTargetOf(session, address, implicitTls, settings.timeoutMs),
        settings.concurrency,
      );
      details.scan = result;
      await scan.printScan(result, flags);
      return `${line}; ${scan.scanSummary(result)}`;
    },
    25,
    (e) => {
      if (e.type === 'connected') address = e.remoteAddress;
    },
  );
}
