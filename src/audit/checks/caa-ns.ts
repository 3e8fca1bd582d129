import { DnsFailure, type Resolver } from '../../dns/resolver.js';
import type { AuditCheck, Verdict } from '../check.js';
import { refusedTarget } from './refused-target.js';
import { dnsFailed } from './dns-failed.js';

/** The name and its parents, longest first, down to (not including) the top-level domain. */
const climb = (name: string) => {
  const labels = name.replace(/\.$/, '').split('.');
  return labels.slice(0, -1).map((_, i) => labels.slice(i).join('.'));
};

/** The records of `type` at the closest enclosing name that has any (CAA: RFC 8659 §3; NS: the zone cut). */
export async function closest(resolver: Resolver, name: string, type: 'CAA' | 'NS') {
  for (const at of climb(name)) {
    const a = await resolver.query(at, type);
    if (a.records.length) return { at, records: a.records };
  }
  return undefined;
}

const CAA_TAG = /^[a-z0-9]+$/i;
// issuer-domain-name [; key=value]* (RFC 8659 §4.2), or an empty issuer (";": nobody may issue).
const ISSUE_VALUE =
  /^\s*([a-z0-9-]+(\.[a-z0-9-]+)+)?\s*(;\s*([a-z0-9]+=[\x21-\x3a\x3c-\x7e]*\s*)(;\s*[a-z0-9]+=[\x21-\x3a\x3c-\x7e]*\s*)*)?;?\s*$/i;

export const caaCheck: AuditCheck = {
  group: 'dns',
  name: 'caa',
  title: 'CAA for each MX host name',
  reference: 'RFC 8659 (§3 the tree is climbed, §4.2 issue); internet.nl: CAA for the mail server domains',
  fix: 'publish a CAA record naming the CA that issues the MX certificate, e.g. "0 issue \\"letsencrypt.org\\"" at the MX host or its zone',
  async run(ctx) {
    const hosts = await ctx.mailHosts();
    return Promise.all(
      hosts.map(async (h): Promise<Verdict> => {
        const refused = refusedTarget(h);
        if (refused) return refused;
        let found;
        try {
          found = await closest(ctx.options.resolver, h.exchange, 'CAA');
        } catch (err) {
          return { subject: h.exchange, ...dnsFailed(err, `CAA of ${h.exchange}`) };
        }
        if (!found)
          return {
            subject: h.exchange,
            status: 'warn',
            summary: 'no CAA record on the host name or above it: any CA may issue a certificate for it',
          };
        const recs = found.records.map((r) => ({ flags: Number(r.flags), tag: String(r.tag), value: String(r.value) }));
        const evidence = recs.map((r) => `${found.at} CAA ${r.flags} ${r.tag} "${r.value}"`);
        const problems: string[] = [];
        for (const r of recs) {
          if (!CAA_TAG.test(r.tag)) problems.push(`tag "${r.tag}" is not letters and digits`);
          const tag = r.tag.toLowerCase();
          if ((tag === 'issue' || tag === 'issuewild') && !ISSUE_VALUE.test(r.value))
            problems.push(`${tag} "${r.value}" is not "ca-domain[; key=value]"`);
          if (
            !['issue', 'issuewild', 'iodef', 'contactemail', 'contactphone', 'issuemail', 'issuevmc'].includes(tag) &&
            r.flags & 128
          )
            problems.push(`an unknown critical tag "${r.tag}": CAs must refuse to issue (RFC 8659 §4.1)`);
        }
        if (problems.length) return { subject: h.exchange, status: 'fail', summary: problems.join('; '), evidence };
        if (!recs.some((r) => r.tag.toLowerCase() === 'issue'))
          return { subject: h.exchange, status: 'warn', summary: `CAA at ${found.at} has no issue tag`, evidence };
        return { subject: h.exchange, status: 'pass', summary: `CAA at ${found.at} with an issue tag`, evidence };
      }),
    );
  },
};

export const nsIpv6Check: AuditCheck = {
  group: 'dns',
  name: 'ns-ipv6',
  title: 'IPv6 addresses of the name servers',
  reference: 'internet.nl: IPv6 for the name servers of the domain (RFC 3901)',
  fix: 'give the domain’s name servers AAAA records (ask the DNS provider)',
  async run(ctx) {
    const resolver = ctx.options.resolver;
    let found;
    try {
      found = await closest(resolver, ctx.domain, 'NS');
    } catch (err) {
      return dnsFailed(err, `NS of ${ctx.domain}`);
    }
    if (!found) return { status: 'fail', summary: `no NS records found for ${ctx.domain} or above it` };
    const names = found.records.map((r) => String(r.ns));
    const evidence: string[] = [];
    const withV6: string[] = [];
    for (const ns of names) {
      try {
        const addresses = await resolver.addresses(ns);
        evidence.push(`NS ${ns}: ${addresses.map((a) => a.address).join(', ') || 'no address'}`);
        if (addresses.some((a) => a.family === 6)) withV6.push(ns);
      } catch (err) {
        if (!(err instanceof DnsFailure)) throw err;
        evidence.push(`NS ${ns}: the look-up failed (${err.short})`);
      }
    }
    const status = withV6.length === names.length ? 'pass' : withV6.length ? 'warn' : 'fail';
    return {
      status,
      summary:
        status === 'pass'
          ? `every name server of ${found.at} has an IPv6 address (${names.length})`
          : `${names.length - withV6.length} of ${names.length} name servers of ${found.at} have no IPv6 address`,
      evidence,
    };
  },
};
