import { SmtpkitError } from '../errors.js';
import { daneMatch, describeTlsa } from '../dns/checks/dane.js';
import { deliveryCandidates, lookupMx } from '../dns/mx.js';
import { Resolver, type ResolverFlags } from '../dns/resolver.js';
import type { SmtpSession } from '../session/session.js';

/**
 * Points a session at a domain's MX hosts: every address of every host, in preference
 * order (swaks tries only the first). The lookup is part of the transcript.
 */
export async function useMx(session: SmtpSession, domain: string, flags: ResolverFlags): Promise<Resolver> {
  const resolver = Resolver.fromFlags(flags, session.options.tls.ca);
  const report = await lookupMx(resolver, domain);
  if (report.kind === 'null') throw new SmtpkitError('dns', `${domain} publishes a null MX (RFC 7505): it accepts no mail`, 'dns');
  for (const h of report.hosts) {
    session.emit({ type: 'info', message: `MX ${h.preference} ${h.exchange}${report.kind === 'implicit' ? ' (implicit: no MX records)' : ''}: ${h.addresses.map((a) => a.address).join(', ') || 'no address'}` });
    for (const p of h.problems) session.emit({ type: 'warning', message: `${h.exchange}: ${p}` });
  }
  const family = session.options.family;
  const candidates = deliveryCandidates(report).filter((c) => !family || (family === 6) === c.address.includes(':'));
  if (!candidates.length) throw new SmtpkitError('dns', `no usable address for any MX host of ${domain}`, 'dns');
  session.options.candidates = candidates;
  return resolver;
}

/**
 * DANE (RFC 7672) for the host the session reached: its TLSA records matched against the
 * certificates it presented. No TLSA: DANE does not apply. TLSA but no match: exit 6.
 */
export async function verifyDane(session: SmtpSession, resolver: Resolver): Promise<void> {
  const host = session.currentHost;
  // An MX host is an SMTP server on port 25 whatever port a test bed uses (RFC 7672 §2.2).
  const port = session.options.candidates ? 25 : session.options.port;
  const name = `_${port}._tcp.${host}`;
  const tlsa = await resolver.tlsa(name);
  const info = (message: string) => session.emit({ type: 'info', message });
  if (!tlsa.records.length) return info(`DANE: ${host} has no TLSA records (${name}); DANE does not apply`);
  if (!session.isTls) throw new SmtpkitError('tls', `DANE: ${host} publishes TLSA records but the session has no TLS`, 'tls');
  if (!tlsa.authenticated) session.emit({ type: 'warning', message: `DANE: the resolver did not validate ${name} with DNSSEC (no AD bit); a DANE sender would ignore these records` });
  const { matched, usable } = daneMatch(tlsa.records, session.certificates);
  if (matched) return info(`DANE: the certificate of ${host} matches TLSA ${describeTlsa(matched)}`);
  if (!usable) return session.emit({ type: 'warning', message: `DANE: ${host} has only PKIX-TA/PKIX-EE TLSA records, which SMTP does not use (RFC 7672 §3.1.3)` });
  throw new SmtpkitError('tls', `DANE: none of the ${usable} usable TLSA record(s) of ${host} matches the certificate chain it presented`, 'tls');
}
