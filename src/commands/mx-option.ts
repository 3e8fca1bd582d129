import { usageError } from '../errors.js';
import type { ResolverFlags } from '../dns/resolver.js';
import type { SmtpSession } from '../session/session.js';
import { parseDomain } from '../dns/domain.js';

/** `--mx DOMAIN` instead of a server, and `--dane`: shared by ehlo and starttls. */
export interface MxOption extends ResolverFlags {
  mx?: string;
  dane?: boolean;
}

/** The target for runSession: the server given, or the domain whose MX hosts to use. */
export function mxSpec(spec: string | undefined, flags: MxOption): string {
  return spec ?? flags.mx ?? '';
}

/** Before connect(): point the session at the MX hosts when --mx was given. */
export async function applyMx(session: SmtpSession, spec: string | undefined, flags: MxOption) {
  if (spec && flags.mx) throw usageError('give a server or --mx DOMAIN, not both');
  if (!spec && !flags.mx) throw usageError('give a server (host[:port]) or --mx DOMAIN');
  // DNS code (dns2 among it) loads only when --mx or --dane asks for it.
  const targets = flags.mx || flags.dane ? await import('../flows/mx-targets.js') : undefined;
  const resolver = flags.mx
    ? await targets!.useMx(session, parseDomain(flags.mx), flags)
    : flags.dane
      ? (await import('../dns/resolver.js')).Resolver.fromFlags(flags, session.options.tls.ca)
      : undefined;
  // Installed before connecting: DANE judges the certificate inside the handshake.
  const judge = flags.dane ? targets!.installDane(session, resolver!) : undefined;
  return {
    /** After TLS: DANE for the host reached, when asked (a host with TLSA but no TLS fails). */
    dane: async () => {
      if (flags.dane) await targets!.verifyDane(session, resolver!);
    },
    /** What DANE found, for JSON's result.dane. */
    daneResult: () => judge?.result(),
  };
}
