import { isIP } from 'node:net';
import { usageError } from '../../errors.js';
import { parseDomain } from '../domain.js';
import { reverseName, type Resolver } from '../resolver.js';
import type { Finding } from './finding.js';

/** What the big lists document for their answers; other lists say "listed" (RFC 5782 §2.3: 127.0.0.2 and up). */
const CODES: Record<string, Record<string, string>> = {
  'zen.spamhaus.org': {
    '127.0.0.2': 'SBL: a known spam source or spam operation',
    '127.0.0.3': 'SBL CSS: a snowshoe or low-reputation sender',
    '127.0.0.4': 'XBL: a hijacked or infected machine (exploits, botnets)',
    '127.0.0.5': 'XBL: a hijacked or infected machine',
    '127.0.0.6': 'XBL: a hijacked or infected machine',
    '127.0.0.7': 'XBL: a hijacked or infected machine',
    '127.0.0.9': 'SBL DROP: a hijacked network',
    '127.0.0.10': 'PBL (ISP): an end-user address that should not send mail directly',
    '127.0.0.11': 'PBL (Spamhaus): an end-user address that should not send mail directly',
  },
  'bl.spamcop.net': { '127.0.0.2': 'reported as a spam source by SpamCop users' },
  'b.barracudacentral.org': { '127.0.0.2': 'poor reputation in the Barracuda Reputation Block List' },
  'psbl.surriel.com': { '127.0.0.2': 'sent mail to PSBL spam traps' },
};

/** Spamhaus answers these when it will not answer at all: never a listing. */
const REFUSALS: Record<string, string> = {
  '127.255.255.252': 'the list says the query was malformed (typing error in the zone name)',
  '127.255.255.254': 'the list refuses queries from public or open resolvers: use your own resolver (--resolver)',
  '127.255.255.255': 'the list refuses: too many queries from this resolver',
};

export const DEFAULT_DNSBLS = ['zen.spamhaus.org', 'bl.spamcop.net', 'b.barracudacentral.org', 'psbl.surriel.com'];

export interface DnsblAnswer {
  address: string;
  zone: string;
  status: 'listed' | 'not-listed' | 'unknown';
  codes: string[];
  meaning: string[];
  reason: string | undefined;
}

/** --dnsbl as commander gives it: true (no zone: the default list) or the zones. */
export function dnsblZones(flag: true | string[] | undefined): string[] {
  if (flag === undefined) return [];
  if (flag === true) return DEFAULT_DNSBLS;
  return flag.map((z) => {
    try {
      return parseDomain(z);
    } catch {
      throw usageError(`--dnsbl ${JSON.stringify(z)}: give a list's DNS zone, such as zen.spamhaus.org`);
    }
  });
}

/** The name to ask (RFC 5782 §2.1 IPv4, §2.4 IPv6 nibbles): the address reversed under the zone. */
export function dnsblName(address: string, zone: string): string {
  return `${reverseName(address).replace(/\.(in-addr|ip6)\.arpa$/, '')}.${zone}`;
}

/** One address against one list: A for the listing, TXT for its reason. Failures and refusals are "unknown", never "listed". */
export async function queryDnsbl(resolver: Resolver, address: string, zone: string): Promise<DnsblAnswer> {
  const name = dnsblName(address, zone);
  const base = {
    address,
    zone,
    codes: [] as string[],
    meaning: [] as string[],
    reason: undefined as string | undefined,
  };
  let codes: string[];
  try {
    codes = (await resolver.query(name, 'A')).records.map((r) => String(r.address));
  } catch (err) {
    return { ...base, status: 'unknown', meaning: [`could not check: ${(err as Error).message}`] };
  }
  if (!codes.length) return { ...base, status: 'not-listed' };
  const refusal = codes.find((c) => REFUSALS[c] || c.startsWith('127.255.255.'));
  if (refusal)
    return {
      ...base,
      codes,
      status: 'unknown',
      meaning: [`could not check: ${REFUSALS[refusal] ?? `the list answered ${refusal}, a refusal code`}`],
    };
  const real = codes.filter((c) => /^127\./.test(c));
  if (!real.length)
    return {
      ...base,
      codes,
      status: 'unknown',
      meaning: [
        `could not check: the answer ${codes.join(', ')} is not in 127.0.0.0/8 (RFC 5782 §2.1); the resolver may rewrite "no such name" answers`,
      ],
    };
  const reason = await resolver
    .txt(name)
    .then((t) => t.records.join(' ') || undefined)
    .catch(() => undefined);
  return {
    ...base,
    codes: real,
    status: 'listed',
    meaning: real.map((c) => CODES[zone]?.[c] ?? `listed (${c})`),
    reason,
  };
}

/** Every address against every list, as a finding: any listing fails the check. */
export async function checkDnsbl(
  resolver: Resolver,
  addresses: string[],
  zones: string[],
): Promise<{ finding: Finding; answers: DnsblAnswer[] }> {
  const unique = [...new Set(addresses.filter((a) => isIP(a)))];
  const answers = await Promise.all(unique.flatMap((a) => zones.map((z) => queryDnsbl(resolver, a, z))));
  const listed = answers.filter((a) => a.status === 'listed');
  const unknown = answers.filter((a) => a.status === 'unknown');
  const details = answers.map(
    (a) =>
      `${a.address} on ${a.zone}: ${a.status === 'listed' ? `LISTED ${a.codes.join(', ')} (${a.meaning.join('; ')})${a.reason ? `: ${a.reason}` : ''}` : a.status === 'not-listed' ? 'not listed' : a.meaning.join('; ')}`,
  );
  const status = listed.length ? 'fail' : unknown.length ? 'warn' : 'pass';
  const summary = listed.length
    ? `${listed.map((a) => `${a.address} is listed on ${a.zone} (${a.meaning.join('; ')})`).join('; ')}`
    : unknown.length
      ? `${unknown.length} of ${answers.length} look-ups could not be checked; none listed`
      : `${unique.length} address${unique.length === 1 ? '' : 'es'} on none of ${zones.length} list${zones.length === 1 ? '' : 's'}`;
  return { finding: { check: 'DNSBL', status, summary, details, records: [] }, answers };
}
