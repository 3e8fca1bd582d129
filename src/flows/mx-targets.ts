import { SmtpkitError } from '../errors.js';
import { daneMatch, describeTlsa, smtpUnusable } from '../dns/checks/dane.js';
import type { DaneHost } from '../dns/checks/finding.js';
import { deliveryCandidates, lookupMx, noMxAddress } from '../dns/mx.js';
import { adCaveat, DnsFailure, type Resolver } from '../dns/resolver.js';
import type { SmtpSession } from '../session/session.js';

/**
 * Points a session at a domain's MX hosts: every address of every host, in preference
 * order (swaks tries only the first). The lookup is part of the transcript.
 */
export async function useMx(session: SmtpSession, domain: string, resolver: Resolver): Promise<void> {
  const report = await lookupMx(resolver, domain);
  if (report.kind === 'null')
    throw new SmtpkitError('dns', `${domain} publishes a null MX (RFC 7505): it accepts no mail`, 'dns');
  for (const h of report.hosts) {
    session.emit({
      type: 'info',
      message: `MX ${h.preference} ${h.exchange}${report.kind === 'implicit' ? ' (implicit: no MX records)' : ''}: ${h.addresses.map((a) => a.address).join(', ') || 'no address'}`,
    });
    for (const p of h.problems) session.emit({ type: 'warning', message: `${h.exchange}: ${p}` });
  }
  const family = session.options.family;
  const candidates = deliveryCandidates(report).filter((c) => !family || (family === 6) === c.address.includes(':'));
  if (!candidates.length) throw noMxAddress(report, family);
  session.useCandidates(candidates);
}

/** DANE for the host a session reached, as JSON's `result.dane` carries it. */
export interface DaneResult extends DaneHost {
  /** The TLSA owner name asked. */
  name: string;
  /**
   * authenticated: a usable, DNSSEC-validated record matched; none: no TLSA records;
   * not-validated: TLSA without DNSSEC, not used; unusable: no record usable (PKIX usages, unknown parameters, malformed data): DANE not in effect;
   * mismatch: usable records, none matched; lookup-failed: SERVFAIL or no answer.
   */
  status: 'authenticated' | 'none' | 'not-validated' | 'unusable' | 'mismatch' | 'lookup-failed';
}

/**
 * DANE (RFC 7672) as the certificate's judge: after each handshake the host's TLSA
 * records are looked up and matched. A DNSSEC-validated match decides trust (DANE-EE:
 * name and CA not checked; DANE-TA: trust from the record, name still checked), before
 * --tls-verify would judge by PKIX; records without DNSSEC are not used. No usable match
 * fails the session (exit 6), a failed look-up too (exit 3): a DANE sender defers.
 */
export function installDane(session: SmtpSession, resolver: Resolver): { result: () => DaneResult | undefined } {
  let result: DaneResult | undefined;
  const info = (message: string) => session.emit({ type: 'info', message });
  const warn = (message: string) => session.emit({ type: 'warning', message });
  session.judgeCertificatesWith(async (chain, _facts, host) => {
    // An MX host is an SMTP server on port 25 whatever port a test bed uses (RFC 7672 §2.2).
    const port = session.viaMx ? 25 : session.options.port;
    const name = `_${port}._tcp.${host}`;
    const base = { host, name, tlsa: [], authenticated: false, match: null };
    let tlsa;
    try {
      tlsa = await resolver.tlsa(name);
    } catch (err) {
      if (!(err instanceof DnsFailure)) throw err;
      result = { ...base, status: 'lookup-failed', error: err.info };
      throw new SmtpkitError(
        'dns',
        `DANE: the TLSA look-up failed, so a DANE sender defers mail to ${host} (RFC 7672 §2.2): ${err.message}`,
        'tls',
      );
    }
    result = { ...base, tlsa: tlsa.records, authenticated: tlsa.authenticated, status: 'none' };
    if (!tlsa.records.length) {
      info(`DANE: ${host} has no TLSA records (${name}); DANE does not apply`);
      return undefined;
    }
    if (!tlsa.authenticated) {
      result.status = 'not-validated';
      warn(
        `DANE: the TLSA records at ${name} are not DNSSEC-validated (the resolver set no AD bit), so they are not used, as a DANE sender would not use them (RFC 7672 §2.2); the certificate is judged by PKIX`,
      );
      return undefined;
    }
    const caveat = adCaveat(tlsa.response);
    if (caveat) warn(`DANE: ${caveat}`);
    const { matched, usable } = daneMatch(tlsa.records, chain);
    if (!usable) {
      result.status = 'unusable';
      const why = tlsa.records.map((t) => `${t.usage} ${t.selector} ${t.matchingType}: ${smtpUnusable(t)}`).join('; ');
      warn(
        `DANE: ${host} has no usable TLSA record (${why}), so DANE is not in effect for it: the certificate is judged by PKIX (RFC 7672 §2.2)`,
      );
      return undefined;
    }
    if (!matched) {
      result.status = 'mismatch';
      throw new SmtpkitError(
        'tls',
        `DANE: none of the ${usable} usable TLSA record(s) of ${host} matches the certificate chain it presented`,
        'tls',
      );
    }
    result.match = matched;
    result.status = 'authenticated';
    if (matched.usage === 3) {
      info(
        `DANE: the certificate of ${host} matches TLSA ${describeTlsa(matched)}; DANE-EE authenticates it: neither its name nor its CA is checked (RFC 7672 §3.1.1)`,
      );
      return { by: 'DANE-EE (3)', nameWaived: true };
    }
    info(
      `DANE: the certificate chain of ${host} matches TLSA ${describeTlsa(matched)}; DANE-TA makes that certificate the trust anchor, and the name is still checked against ${host} (RFC 7672 §3.1.2)`,
    );
    return { by: 'DANE-TA (2)', nameWaived: false };
  });
  return { result: () => result };
}

/**
 * After the session: a host that publishes TLSA records but was reached without TLS
 * fails DANE. With TLS the judge installed by installDane has already decided.
 */
export async function verifyDane(session: SmtpSession, resolver: Resolver): Promise<void> {
  if (session.isTls && session.options.judgeCertificate) return;
  const host = session.currentHost;
  const port = session.viaMx ? 25 : session.options.port;
  const name = `_${port}._tcp.${host}`;
  const tlsa = await resolver.tlsa(name);
  if (!tlsa.records.length)
    return session.emit({ type: 'info', message: `DANE: ${host} has no TLSA records (${name}); DANE does not apply` });
  if (!session.isTls)
    throw new SmtpkitError('tls', `DANE: ${host} publishes TLSA records but the session has no TLS`, 'tls');
}
