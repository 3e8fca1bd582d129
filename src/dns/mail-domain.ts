import { checkDane } from './checks/dane.js';
import { checkDmarc } from './checks/dmarc.js';
import { checkDnsbl } from './checks/dnsbl.js';
import { checkDkimKeys } from './checks/dkim-key.js';
import { lookupFailed, type Finding } from './checks/finding.js';
import { checkMtaSts } from './checks/mtasts.js';
import { checkSpf } from './checks/spf.js';
import { checkTlsRpt } from './checks/tlsrpt.js';
import { lookupMx, NoMailHost, type MxReport } from './mx.js';
import { DnsFailure, type Resolver } from './resolver.js';

export interface MailDomainOptions {
  /** Reverse DNS of each address. */
  ptr: boolean;
  /** Judge the mail-security records too (SPF, DMARC, MTA-STS, TLS-RPT, DANE, DKIM). */
  checks: boolean;
  /** DKIM selectors to judge (checks without them try common ones). */
  selectors: string[] | undefined;
  /** DNS blocklists to check each MX address on. */
  zones: string[];
  /** The MTA-STS policy server: its extra trusted CA and port. */
  https: { ca: string | undefined; port: number };
}

export interface MailDomainReport {
  /** The mail hosts, or undefined when their look-up failed. */
  mx: MxReport | undefined;
  findings: Finding[];
  /** What ended the inspection early (the MX look-up, or a check that could not run); the findings so far stand. */
  failure: unknown;
}

/**
 * A domain's mail hosts with their addresses, and as asked its mail-security records
 * judged and its addresses looked up on blocklists. Nothing here throws: a failure comes
 * back beside what was found before it.
 */
export async function inspectMailDomain(
  resolver: Resolver,
  domain: string,
  o: Readonly<MailDomainOptions>,
): Promise<MailDomainReport> {
  let mx: MxReport | undefined;
  const findings: Finding[] = [];
  try {
    // A domain that only sends (no MX, no address) or whose MX look-up failed still has its
    // SPF, DMARC, MTA-STS, TLS-RPT and DKIM records: they are judged, and the MX failure stands.
    let mxFailure: unknown;
    try {
      mx = await lookupMx(resolver, domain, { ptr: o.ptr });
    } catch (err) {
      if (
        !(o.checks || o.selectors?.length) ||
        !(err instanceof DnsFailure || (err instanceof NoMailHost && err.absence === 'NODATA'))
      )
        throw err;
      mxFailure = err;
    }
    if (o.checks) {
      const http = { ...o.https, timeoutMs: resolver.transport.timeoutMs };
      const hosts = mx?.hosts.map((h) => h.exchange);
      findings.push(
        await judged('SPF', () => checkSpf(resolver, domain)),
        await judged('DMARC', () => checkDmarc(resolver, domain)),
        await judged('MTA-STS', () => checkMtaSts(resolver, domain, hosts, http)),
        await judged('TLS-RPT', () => checkTlsRpt(resolver, domain)),
      );
      // DANE is asked per MX host: with none known there is nothing to ask.
      if (hosts) findings.push(await judged('DANE', () => checkDane(resolver, hosts)));
    }
    if (o.checks || o.selectors?.length)
      findings.push(await judged('DKIM', () => checkDkimKeys(resolver, domain, o.selectors)));
    if (!mx) throw mxFailure;
    const addresses = mx.hosts.flatMap((h) => h.addresses.map((a) => a.address));
    if (o.zones.length) findings.push((await checkDnsbl(resolver, addresses, o.zones)).finding);
    return { mx, findings, failure: undefined };
  } catch (err) {
    return { mx, findings, failure: err };
  }
}

/**
 * One check, run so that a failed look-up becomes that check's finding (a temperror),
 * not the end of the report: the other checks still stand.
 */
async function judged(check: Finding['check'], run: () => Promise<Finding>): Promise<Finding> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof DnsFailure)) throw err;
    return lookupFailed(check, err);
  }
}
