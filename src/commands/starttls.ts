import { formatTarget } from '../protocol/target.js';
import { applyMx, mxSpec, type MxOption } from './mx-option.js';
import { runSession, type Flags } from './run.js';

/** EHLO, STARTTLS, handshake, EHLO again; with implicit TLS the handshake has already happened. */
export function starttls(spec: string | undefined, flags: Flags & MxOption): Promise<number> {
  return runSession('starttls', mxSpec(spec, flags), flags, async (session, details) => {
    const mx = await applyMx(session, spec, flags);
    try {
      await session.connect();
      await session.ehlo();
      if (!session.isTls) await session.starttls();
      await mx.dane();
    } finally {
      const dane = mx.daneResult();
      if (dane) details.dane = dane;
    }
    const t = session.tls;
    const by = session.certificateVerdict;
    const verdict = !t ? '' : by?.nameWaived ? `authenticated by ${by.by} (name and CA not checked)` : [by ? `trusted through ${by.by}` : t.trusted ? 'trusted' : 'UNTRUSTED', t.nameMatches ? 'name matches' : 'NAME MISMATCH'].join(', ');
    return `${formatTarget(session.currentHost, session.options.port)}: ${t?.protocol} ${t?.cipher}; certificate ${verdict}`;
  });
}
