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
  const resolver = flags.mx ? await targets!.useMx(session, parseDomain(flags.mx), flags) : undefined;
  return {
    /** After TLS: check DANE for the host reached, when asked. */
    dane: async () => {
      if (!flags.dane) return;
      const r = resolver ?? (await import('../dns/resolver.js')).Resolver.fromFlags(flags, session.options.tls.ca);
      await targets!.verifyDane(session, r);
    },
  };
}
