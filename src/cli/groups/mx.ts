import { usageError } from '../../errors.js';
import type { OptionSpec } from '../declare.js';
import type { MxSpec } from '../../commands/mx-option.js';
import { resolverSpec, type ResolverFlags } from './resolver.js';

/** The mx group: `--mx DOMAIN` instead of a server (ehlo, starttls, probe), with --dane beside it. */

export interface MxFlags extends ResolverFlags {
  mx?: string;
  dane?: boolean;
}

export const MX: OptionSpec = {
  flags: '--mx <domain>',
  help: 'instead of a server: the domain’s MX hosts, each tried in turn',
};

/** `ca`: the session's --ca-file, for a DoH server. */
export async function mxSpec(server: string, flags: MxFlags, ca: string | undefined): Promise<Readonly<MxSpec>> {
  if (server && flags.mx) throw usageError('give a server or --mx DOMAIN, not both');
  if (!server && !flags.mx) throw usageError('give a server (host[:port]) or --mx DOMAIN');
  const domain = flags.mx === undefined ? undefined : (await import('../../dns/domain.js')).parseDomain(flags.mx);
  const dane = !!flags.dane;
  return { domain, dane, resolver: domain !== undefined || dane ? await resolverSpec(flags, ca) : undefined };
}
