import { formatTarget } from '../protocol/target.js';
import { runSession, type Flags } from './run.js';

/** EHLO, STARTTLS, handshake, EHLO again; with implicit TLS the handshake has already happened. */
export function starttls(spec: string, flags: Flags): Promise<number> {
  return runSession('starttls', spec, flags, async (session) => {
    await session.connect();
    await session.ehlo();
    if (!session.isTls) await session.starttls();
    const t = session.tls;
    const { host, port } = session.options;
    const verdict = t ? [t.trusted ? 'trusted' : 'UNTRUSTED', t.nameMatches ? 'name matches' : 'NAME MISMATCH'].join(', ') : '';
    return `${formatTarget(host, port)}: ${t?.protocol} ${t?.cipher}; certificate ${verdict}`;
  });
}
