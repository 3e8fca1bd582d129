import type { Outcome } from '../errors.js';
import { checkDane } from '../dns/checks/dane.js';
import { checkDmarc } from '../dns/checks/dmarc.js';
import { checkDnsbl } from '../dns/checks/dnsbl.js';
import { checkDkimKeys } from '../dns/checks/dkim-key.js';
import { lookupFailed, type Finding } from '../dns/checks/finding.js';
import { checkMtaSts } from '../dns/checks/mtasts.js';
import { checkSpf } from '../dns/checks/spf.js';
import { checkTlsRpt } from '../dns/checks/tlsrpt.js';
import { lookupMx, NoMailHost, type MxReport } from '../dns/mx.js';
import { DnsFailure, Resolver } from '../dns/resolver.js';
import type { TransportOptions } from '../dns/transport.js';
import { printable } from '../render/printable.js';
import type { Paint } from '../render/paint.js';
import { failureOutcome } from '../render/failure.js';
import { plainFailure, type Report } from '../render/report.js';

export interface MxLookupSpec {
  domain: string;
  resolver: Readonly<TransportOptions>;
  /** Reverse DNS of each address. */
  ptr: boolean;
  /** Judge the mail-security records too (SPF, DMARC, MTA-STS, TLS-RPT, DANE, DKIM). */
  checks: boolean;
  /** DKIM selectors to judge (--checks without them tries common ones). */
  selectors: string[] | undefined;
  /** DNS blocklists to check each MX address on. */
  zones: string[];
  /** The MTA-STS policy server's port (443; test beds use another). */
  httpsPort: number;
}

export interface MxLookupResult {
  report: MxReport | undefined;
  findings: Finding[];
  outcome: Outcome;
}

/** `smtpkit mx-lookup <domain>`: the mail hosts, their addresses, and with --checks the mail-security records. */
export async function mxLookup(spec: Readonly<MxLookupSpec>): Promise<MxLookupResult> {
  const { domain, selectors, zones } = spec;
  let report: MxReport | undefined;
  const findings: Finding[] = [];
  try {
    const resolver = new Resolver(spec.resolver);
    // A domain that only sends (no MX, no address) or whose MX look-up failed still has its
    // SPF, DMARC, MTA-STS, TLS-RPT and DKIM records: they are judged, and the MX failure stands.
    let mxFailure: unknown;
    try {
      report = await lookupMx(resolver, domain, { ptr: spec.ptr });
    } catch (err) {
      if (
        !(spec.checks || selectors?.length) ||
        !(err instanceof DnsFailure || (err instanceof NoMailHost && err.absence === 'NODATA'))
      )
        throw err;
      mxFailure = err;
    }
    if (spec.checks) {
      const http = { ca: spec.resolver.ca, timeoutMs: resolver.transport.timeoutMs, port: spec.httpsPort };
      const hosts = report?.hosts.map((h) => h.exchange);
      findings.push(
        await judged('SPF', () => checkSpf(resolver, domain)),
        await judged('DMARC', () => checkDmarc(resolver, domain)),
        await judged('MTA-STS', () => checkMtaSts(resolver, domain, hosts, http)),
        await judged('TLS-RPT', () => checkTlsRpt(resolver, domain)),
      );
      // DANE is asked per MX host: with none known there is nothing to ask.
      if (hosts) findings.push(await judged('DANE', () => checkDane(resolver, hosts)));
    }
    if (spec.checks || selectors?.length)
      findings.push(await judged('DKIM', () => checkDkimKeys(resolver, domain, selectors)));
    if (!report) throw mxFailure;
    if (zones.length)
      findings.push(
        (
          await checkDnsbl(
            resolver,
            report.hosts.flatMap((h) => h.addresses.map((a) => a.address)),
            zones,
          )
        ).finding,
      );
    const problems =
      report.hosts.reduce((n, h) => n + h.problems.length, 0) + findings.filter((f) => f.status === 'fail').length;
    const message =
      report.kind === 'null'
        ? `${domain} publishes a null MX (RFC 7505): it accepts no mail`
        : `${domain}: ${report.hosts.length} mail host${report.hosts.length === 1 ? '' : 's'}${report.kind === 'implicit' ? ' (no MX: the domain itself, as RFC 5321 §5.1 says)' : ''}${problems ? `, ${problems} problem${problems === 1 ? '' : 's'}` : ''}`;
    return { report, findings, outcome: { ok: !problems, exitCode: problems ? 1 : 0, message } };
  } catch (err) {
    return { report, findings, outcome: mxFailureOutcome(err) };
  }
}

/** A failure as mx-lookup says it: with the DNS failure's details as data. */
export function mxFailureOutcome(err: unknown): Outcome {
  const o = plainFailure(failureOutcome(err));
  return err instanceof DnsFailure ? { ...o, dnsError: err.info } : o;
}

export function mxLookupReport(
  domainArg: string,
  startedAt: string,
  checks: boolean,
  r: MxLookupResult | undefined,
  failed?: Outcome,
): Report {
  const { report = undefined, findings = [] } = r ?? {};
  return {
    command: 'mx-lookup',
    target: domainArg,
    outcome: failed ?? r!.outcome,
    fields: { domain: domainArg, startedAt, mx: report ?? null, checks: checks || findings.length ? findings : null },
    text: (c) => (report || findings.length ? renderMx(report, findings, c) : ''),
  };
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

const MARK = { pass: '✔', warn: '⚠', fail: '✖', absent: '–' };

function renderMx(r: MxReport | undefined, findings: Finding[], c: Paint): string {
  const out: string[] = [];
  if (r) out.push(...renderHosts(r, c));
  for (const f of findings) {
    const paint = { pass: c.green, warn: c.yellow, fail: c.red, absent: c.dim }[f.status];
    out.push(paint(`${MARK[f.status]} ${f.check.padEnd(8)} ${printable(f.summary)}`));
    for (const rec of f.records) out.push(c.dim(`    record: ${printable(rec)}`));
    for (const d of f.details) out.push(c.dim(`    # ${printable(d)}`));
  }
  return `${out.join('\n')}\n`;
}

function renderHosts(r: MxReport, c: Paint): string[] {
  const out: string[] = [];
  out.push(
    c.blue(`=== Mail hosts of ${printable(r.domain)}${r.authenticated ? ' (DNSSEC-validated by the resolver)' : ''}`),
  );
  if (r.adCaveat) out.push(c.yellow(`!!! ${printable(r.adCaveat)}`));
  if (r.kind === 'null') out.push(`    0 .   null MX: this domain declares that it accepts no mail`);
  let previous: number | undefined;
  for (const h of r.hosts) {
    const same = previous === h.preference ? c.dim('  (same preference: senders pick among these at random)') : '';
    previous = h.preference;
    out.push(
      `  ${String(h.preference).padStart(5)}  ${printable(h.exchange)}${h.ttl !== undefined ? c.dim(`  TTL ${h.ttl}`) : c.dim('  (implicit MX)')}${same}`,
    );
    for (const a of h.addresses) {
      const ptr = a.ptr
        ? `  PTR ${a.ptr.length ? printable(a.ptr.join(', ')) : '(none)'}${a.fcrdns ? ' (forward-confirmed)' : ''}`
        : '';
      out.push(
        `           ${a.family === 4 ? 'A   ' : 'AAAA'}  ${printable(a.address)}${c.dim(`  TTL ${a.ttl}`)}${ptr}`,
      );
    }
    for (const p of h.problems) out.push(c.yellow(`!!! ${printable(h.exchange)}: ${printable(p)}`));
  }
  return out;
}
