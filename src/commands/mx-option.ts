import type { TransportOptions } from '../dns/transport.js';
import type { SmtpSession } from '../session/session.js';

/** `--mx DOMAIN` instead of a server, and `--dane`: ehlo and starttls (read by src/cli/groups/mx.ts). */
export interface MxSpec {
  /** The domain whose MX hosts to use instead of a server. */
  domain: string | undefined;
  dane: boolean;
  /** The DNS to ask: set when `domain` or `dane` is. */
  resolver: Readonly<TransportOptions> | undefined;
}

/** Before connect(): point the session at the MX hosts, and install DANE, as asked. */
export async function applyMx(session: SmtpSession, mx: Readonly<MxSpec>) {
  // DNS code (dns2 among it) loads only when --mx or --dane asks for it.
  const targets = mx.resolver ? await import('../flows/mx-targets.js') : undefined;
  const resolver = mx.resolver ? new (await import('../dns/resolver.js')).Resolver(mx.resolver) : undefined;
  if (mx.domain) await targets!.useMx(session, mx.domain, resolver!);
  // Installed before connecting: DANE judges the certificate inside the handshake.
  const judge = mx.dane ? targets!.installDane(session, resolver!) : undefined;
  return {
    /** After TLS: DANE for the host reached, when asked (a host with TLSA but no TLS fails). */
    dane: async () => {
      if (mx.dane) await targets!.verifyDane(session, resolver!);
    },
    /** What DANE found, for JSON's result.dane. */
    daneResult: () => judge?.result(),
  };
}
