import { declaredDefault, type OptionSpec } from '../declare.js';
import { usageError } from '../../errors.js';
import { readSmallFile } from '../../util/read-file.js';
import type { DkimSignOptions } from '../../dkim/sign.js';

/**
 * The dkim group: send's --dkim-* options, read here; src/dkim/ signs with typed options and
 * needs neither the flags nor the DNS module's domain parser. Key code (node:crypto) loads
 * only when a signature is asked for.
 */

export interface DkimFlags {
  dkimKey?: string;
  dkimSelector?: string;
  dkimDomain?: string;
  dkimCanon?: string;
  dkimHeaders?: string;
}

export function dkimOptions(): OptionSpec[] {
  return [
    {
      flags: '--dkim-key <file>',
      help: 'sign with DKIM using this private key (PEM; RSA: rsa-sha256, Ed25519: ed25519-sha256)',
      complete: 'file',
    },
    { flags: '--dkim-selector <name>', help: 'DKIM selector (s=): the key is published at NAME._domainkey.DOMAIN' },
    { flags: '--dkim-domain <domain>', help: 'DKIM signing domain (d=; default: the From: domain)' },
    {
      flags: '--dkim-canon <c>',
      help: 'DKIM canonicalization header/body: simple/simple, relaxed/simple, ...',
      fallback: 'relaxed/relaxed',
    },
    {
      flags: '--dkim-headers <names>',
      help: 'DKIM: the header fields to sign, "From:To:Subject" (default: the usual set, From oversigned)',
    },
  ];
}

const CANON = declaredDefault(dkimOptions(), 'dkim-canon');

/** The --dkim-* flags checked before anything is sent; undefined when no signing was asked for. */
export async function dkimSpec(flags: DkimFlags): Promise<Readonly<DkimSignOptions> | undefined> {
  const any = flags.dkimKey ?? flags.dkimSelector ?? flags.dkimDomain ?? flags.dkimCanon ?? flags.dkimHeaders;
  if (any === undefined) return undefined;
  if (flags.dkimKey === undefined || flags.dkimSelector === undefined)
    throw usageError('DKIM signing needs both --dkim-key FILE and --dkim-selector NAME');
  const [{ parseDomain }, { loadSigningKey }, { parseCanon, parseSelector }] = await Promise.all([
    import('../../dns/domain.js'),
    import('../../dkim/key.js'),
    import('../../dkim/sign.js'),
  ]);
  parseSelector(flags.dkimSelector);
  const domain = flags.dkimDomain === undefined ? undefined : parseDomain(flags.dkimDomain);
  if (domain !== undefined && !/^[a-z0-9._-]+$/.test(domain))
    throw usageError(
      `--dkim-domain ${JSON.stringify(flags.dkimDomain)}: give the domain in ASCII (an IDN as its xn-- A-label)`,
    );
  return {
    key: loadSigningKey(readSmallFile(flags.dkimKey, '--dkim-key'), flags.dkimKey, '--dkim-key'),
    selector: flags.dkimSelector,
    domain,
    canon: parseCanon(flags.dkimCanon ?? CANON),
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
