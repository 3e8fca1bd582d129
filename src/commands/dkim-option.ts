import { usageError } from '../errors.js';
import { parseDomain } from '../dns/domain.js';
import { loadSigningKey } from '../dkim/key.js';
import { parseCanon, parseSelector, type DkimSignOptions } from '../dkim/sign.js';

// The --dkim-* flags, read at the command's edge: src/dkim/ signs with typed options and
// needs neither the flags nor the DNS module's domain parser.

export interface DkimFlags {
  dkimKey?: string;
  dkimSelector?: string;
  dkimDomain?: string;
  dkimCanon?: string;
  dkimHeaders?: string;
}

/** The --dkim-* flags checked before anything is sent; undefined when no signing was asked for. */
export function dkimOptions(flags: DkimFlags): DkimSignOptions | undefined {
  const any = flags.dkimKey ?? flags.dkimSelector ?? flags.dkimDomain ?? flags.dkimCanon ?? flags.dkimHeaders;
  if (any === undefined) return undefined;
  if (flags.dkimKey === undefined || flags.dkimSelector === undefined)
    throw usageError('DKIM signing needs both --dkim-key FILE and --dkim-selector NAME');
  parseSelector(flags.dkimSelector);
  const domain = flags.dkimDomain === undefined ? undefined : parseDomain(flags.dkimDomain);
  if (domain !== undefined && !/^[a-z0-9._-]+$/.test(domain))
    throw usageError(
      `--dkim-domain ${JSON.stringify(flags.dkimDomain)}: give the domain in ASCII (an IDN as its xn-- A-label)`,
    );
  return {
    key: loadSigningKey(flags.dkimKey),
    selector: flags.dkimSelector,
    domain,
    canon: parseCanon(flags.dkimCanon ?? 'relaxed/relaxed'),
    headers: flags.dkimHeaders === undefined ? undefined : parseHeaderList(flags.dkimHeaders),
  };
}

function parseHeaderList(text: string): string[] {
  const names = text
    .split(/[:,]/)
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.some((n) => !/^[!-9;-~]+$/.test(n)))
    throw usageError(`--dkim-headers ${JSON.stringify(text)}: give header names separated by ":" or ","`);
  if (!names.some((n) => n.toLowerCase() === 'from'))
    throw usageError('--dkim-headers must include From: RFC 6376 §5.4 requires it to be signed');
  return names;
}
