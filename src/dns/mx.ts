import { isIP } from 'node:net';
import { SmtpkitError } from '../errors.js';
import { hasEscapedOctet } from './domain.js';
import { adCaveat, DnsFailure, type Absence, type Resolver } from './resolver.js';
import { namesThisHost, thisHostReason } from '../util/this-host.js';

/**
 * The domain has no mail host: it does not exist (NXDOMAIN), or has neither MX nor address
 * (NODATA: often a domain that only sends, whose SPF and DMARC still matter).
 */
export class NoMailHost extends SmtpkitError {
  constructor(
    readonly absence: Absence,
    message: string,
  ) {
    super('dns', message, 'dns');
  }
}

export interface HostAddress {
  family: 4 | 6;
  address: string;
  ttl: number;
  /** Reverse names, with --ptr. */
  ptr?: string[];
  /** A reverse name resolves back to this address (forward-confirmed reverse DNS). */
  fcrdns?: boolean;
  /** The PTR look-up failed (SERVFAIL, no answer): why. */
  ptrError?: string;
}

export interface MxHost {
  preference: number;
  exchange: string;
  ttl: number | undefined;
  addresses: HostAddress[];
  /** Misconfigurations, said plainly. */
  problems: string[];
}

export interface MxReport {
  domain: string;
  /** mx: real MX records; implicit: none, so the domain's own address (RFC 5321 §5.1); null: RFC 7505. */
  kind: 'mx' | 'implicit' | 'null';
  hosts: MxHost[];
  authenticated: boolean;
  /** Set when the AD bit came from a resolver across a network: what it is worth. */
  adCaveat?: string;
  /** How many MX records the domain lists, when `max` kept fewer in `hosts`. */
  listed?: number;
}

/**
 * The mail hosts of a domain, as a sending MTA would find them (RFC 5321 §5.1), in the
 * order it would try them, each with its addresses. `max` keeps the first hosts only, cut
 * before any of them is looked up: a zone listing hundreds gets no DNS question for each.
 */
export async function lookupMx(
  resolver: Resolver,
  domain: string,
  opts: { ptr?: boolean; max?: number } = {},
): Promise<MxReport> {
  const mx = await resolver.mx(domain);
  const caveat = adCaveat(mx.response);
  const ad = { authenticated: mx.authenticated, ...(caveat ? { adCaveat: caveat } : {}) };
  if (mx.absent === 'NXDOMAIN')
    throw new NoMailHost('NXDOMAIN', `${domain} does not exist (NXDOMAIN): check the spelling of the domain`);
  if (mx.records.length === 1 && mx.records[0]!.preference === 0 && ['', '.'].includes(mx.records[0]!.exchange)) {
    return { domain, kind: 'null', hosts: [], ...ad };
  }
  if (!mx.records.length) {
    const addresses = await resolver.addresses(domain);
    if (!addresses.length)
      throw new NoMailHost('NODATA', `${domain} has no MX records and no address (NODATA): it cannot receive mail`);
    const host: MxHost = { preference: 0, exchange: domain, ttl: undefined, addresses, problems: [] };
    dropThisHost(host);
    if (opts.ptr) await addPtr(resolver, host);
    return { domain, kind: 'implicit', hosts: [host], ...ad };
  }
  const sorted = [...mx.records].sort((a, b) => a.preference - b.preference);
  const kept = opts.max !== undefined && sorted.length > opts.max ? sorted.slice(0, opts.max) : sorted;
  const hosts = await Promise.all(
    kept.map(async (r): Promise<MxHost> => {
      const host: MxHost = { preference: r.preference, exchange: r.exchange, ttl: r.ttl, addresses: [], problems: [] };
      if (isIP(r.exchange)) {
        host.problems.push(
          'the MX names an IP address, not a host name: RFC 5321 §5.1 forbids it and many senders ignore it',
        );
        return host;
      }
      if (['', '.'].includes(r.exchange)) {
        host.problems.push('a null MX (".") mixed with other MX records: RFC 7505 says it must stand alone');
        return host;
      }
      // Whatever DNS says is untrusted: a name that is no host name (control characters,
      // spaces) is never looked up, connected to, or sent as a TLS server name.
      if (!isHostName(r.exchange)) {
        host.problems.push(
          'the MX target is not a valid host name (RFC 1123 letters, digits and hyphens): unusable, skipped',
        );
        return host;
      }
      try {
        const v4 = await resolver.query(r.exchange, 'A');
        if (v4.cname)
          host.problems.push(
            `the MX host is an alias (CNAME to ${v4.cname}): RFC 5321 §5.1 says MX targets must not be aliases`,
          );
        host.addresses = await resolver.addresses(r.exchange);
        if (!host.addresses.length)
          host.problems.push(
            `no A or AAAA record: mail cannot be delivered to this host (${v4.absent ?? 'no address'})`,
          );
        dropThisHost(host);
      } catch (err) {
        // One host's failed look-up is that host's problem, said as a failure, not "no address".
        if (!(err instanceof DnsFailure)) throw err;
        host.problems.push(`the address look-up failed (${err.short}): ${err.message}`);
        return host;
      }
      if (opts.ptr) await addPtr(resolver, host);
      return host;
    }),
  );
  return { domain, kind: 'mx', hosts, ...ad, ...(kept.length < sorted.length ? { listed: sorted.length } : {}) };
}

/**
 * Addresses meaning "this host" are taken out, said as the host's problem: connected to,
 * they would reach the machine smtpkit runs on (a hostile answer turning it into a
 * prober of its own ports), never the domain's mail host.
 */
function dropThisHost(host: MxHost): void {
  const local = host.addresses.filter((a) => namesThisHost(a.address)).map((a) => a.address);
  if (!local.length) return;
  host.addresses = host.addresses.filter((a) => !namesThisHost(a.address));
  host.problems.push(`${thisHostReason(local)}, not the mail host, so it is not used`);
}

async function addPtr(resolver: Resolver, host: MxHost) {
  for (const a of host.addresses) {
    // A failed look-up is said as such: never taken for "no PTR" or "does not resolve back".
    try {
      a.ptr = await resolver.ptr(a.address);
    } catch (err) {
      if (!(err instanceof DnsFailure)) throw err;
      a.ptrError = err.message;
      host.problems.push(
        `${a.address}: the reverse DNS (PTR) look-up failed (${err.short}), so it is unknown whether a PTR exists`,
      );
      continue;
    }
    let confirmed = false;
    const failed: string[] = [];
    // Raw 8-bit octets (a UTF-8 name published as is) or controls: no host name, so never
    // looked up forward; an internationalized name is published in A-labels (xn--...).
    const unusable = a.ptr.filter(hasEscapedOctet);
    if (unusable.length)
      host.problems.push(
        `${a.address}: the reverse name ${unusable.join(', ')} holds octets no host name has (RFC 1123 §2.1; an internationalized name goes in DNS as A-labels, xn--...): not a valid host name, not checked forward`,
      );
    for (const name of a.ptr) {
      if (hasEscapedOctet(name)) continue;
      try {
        const back = await resolver.addresses(name);
        if (back.some((b) => b.address === a.address)) confirmed = true;
      } catch (err) {
        if (!(err instanceof DnsFailure)) throw err;
        failed.push(`${name} (${err.short})`);
      }
    }
    a.fcrdns = confirmed;
    if (!a.ptr.length)
      host.problems.push(`${a.address} has no reverse DNS (PTR): many receivers distrust such senders`);
    else if (!confirmed && failed.length)
      host.problems.push(
        `${a.address}: the reverse name could not be checked, its look-up failed: ${failed.join(', ')}`,
      );
    else if (!confirmed && unusable.length < a.ptr.length)
      host.problems.push(
        `${a.address}: the reverse name ${a.ptr.filter((n) => !hasEscapedOctet(n)).join(', ')} does not resolve back to it (no FCrDNS)`,
      );
  }
}

/** Where to try delivery, in order: every address of every MX host. */
export function deliveryCandidates(report: MxReport): Array<{ host: string; address: string; preference: number }> {
  return report.hosts.flatMap((h) =>
    h.addresses.map((a) => ({ host: h.exchange, address: a.address, preference: h.preference })),
  );
}

/**
 * No MX host gave an address to connect to (of `family`, when one is asked), said as a DNS
 * failure (exit 3) naming each host's problems: never a fallback to the domain's own address.
 */
export function noMxAddress(report: MxReport, family?: 4 | 6): SmtpkitError {
  const why = report.hosts.flatMap((h) => h.problems.map((p) => `${h.exchange}: ${p}`));
  return new SmtpkitError(
    'dns',
    `no usable ${family ? `IPv${family} ` : ''}address for any MX host of ${report.domain}${why.length ? ` (${why.join('; ')})` : ''}`,
    'dns',
  );
}

/** A host name as RFC 1123 §2.1 allows it: LDH labels of 1 to 63, 253 in all. */
export function isHostName(name: string): boolean {
  const n = name.replace(/\.$/, '');
  return n.length > 0 && n.length <= 253 && n.split('.').every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(l));
}
