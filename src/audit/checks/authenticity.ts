import { checkDkimKeys } from '../../dns/checks/dkim-key.js';
import { checkDmarc } from '../../dns/checks/dmarc.js';
import { lookupFailed, tags, type Finding } from '../../dns/checks/finding.js';
import { checkMtaSts } from '../../dns/checks/mtasts.js';
import { parseReportUri } from '../../dns/checks/report-uri.js';
import { checkSpf } from '../../dns/checks/spf.js';
import { checkTlsRpt } from '../../dns/checks/tlsrpt.js';
import { DnsFailure } from '../../dns/resolver.js';
import type { AuditCheck, Verdict } from '../check.js';
import type { AuditContext } from '../context.js';
import { dnsFailed } from './dns-failed.js';

/** A record check of mx-lookup --checks as a verdict; `absent` says what a missing record means here. */
function verdictOf(f: Finding, absent: Verdict['status']): Verdict {
  return {
    status: f.status === 'absent' ? absent : f.status,
    summary: f.summary,
    evidence: [...f.records.map((r) => `record: ${r}`), ...f.details],
  };
}

/** A failed look-up is that check's temperror, never "no record". */
async function judged(check: Finding['check'], run: () => Promise<Finding>): Promise<Finding> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof DnsFailure)) throw err;
    return lookupFailed(check, err);
  }
}

// DMARC is read once for three checks.
const dmarcOf = new WeakMap<AuditContext, Promise<Finding>>();
function dmarc(ctx: AuditContext): Promise<Finding> {
  let p = dmarcOf.get(ctx);
  if (!p) dmarcOf.set(ctx, (p = judged('DMARC', () => checkDmarc(ctx.options.resolver, ctx.domain))));
  return p;
}

/** The DMARC record receivers use (the first v=DMARC1 record the walk found), as tags. */
async function dmarcTags(ctx: AuditContext): Promise<Map<string, string> | undefined> {
  const f = await dmarc(ctx);
  const record = f.records.find((r) => /^\s*v=DMARC1\s*(;|$)/.test(r));
  return f.status === 'fail' || !record ? undefined : tags(record);
}

/** Same domain, or one inside the other: no external-destination authorisation needed. */
const related = (a: string, b: string) => a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);

export const authenticityChecks: AuditCheck[] = [
  {
    group: 'authenticity',
    name: 'spf',
    title: 'SPF record',
    reference: 'RFC 7208 (§4.5 one record, §4.6.4 ten look-ups, two void look-ups)',
    fix: 'publish one "v=spf1 ... -all" (or ~all) TXT record naming the servers that send for the domain, within 10 DNS look-ups',
    async run(ctx) {
      const f = await judged('SPF', () => checkSpf(ctx.options.resolver, ctx.domain));
      const v = verdictOf(f, 'fail');
      // internet.nl asks for ~all or -all; checkSpf already fails +all and warns on ?all.
      const record = f.records[0] ?? '';
      if (v.status === 'pass' && !/(^|\s)[~-]all(\s|$)/i.test(record) && !/redirect=/i.test(record))
        return {
          ...v,
          status: 'warn',
          summary: 'the record does not end in ~all or -all: other servers are not refused',
        };
      return v;
    },
  },
  {
    group: 'authenticity',
    name: 'dmarc',
    title: 'DMARC record',
    reference: 'RFC 9989 (§4.10 tree walk, §4.7 tags)',
    fix: 'publish one TXT record at _dmarc.DOMAIN: "v=DMARC1; p=reject; rua=mailto:dmarc-reports@DOMAIN"',
    run: async (ctx) => verdictOf(await dmarc(ctx), 'fail'),
  },
  {
    group: 'authenticity',
    name: 'dmarc-policy',
    title: 'DMARC policy quarantine or reject',
    reference: 'RFC 9989 §4.7 (p=); internet.nl: DMARC policy sufficiently strict',
    fix: 'once reports show all legitimate mail aligned, set p=quarantine, then p=reject',
    async run(ctx) {
      const t = await dmarcTags(ctx);
      if (!t) return { status: 'fail', summary: 'no usable DMARC record, so no policy' };
      const p = (t.get('p') ?? '').toLowerCase();
      return p === 'reject' || p === 'quarantine'
        ? { status: 'pass', summary: `p=${p}` }
        : { status: 'fail', summary: `p=${p || '(missing)'}: receivers are not asked to act on mail that fails DMARC` };
    },
  },
  {
    group: 'authenticity',
    name: 'dmarc-rua',
    title: 'DMARC aggregate reports (rua), authorised when external',
    reference: 'RFC 7489 §7.1 and RFC 9989 (external destination verification)',
    fix: 'add rua=mailto:ADDRESS; for an address in another domain, that domain publishes "v=DMARC1" at DOMAIN._report._dmarc.ITS-DOMAIN',
    async run(ctx) {
      const t = await dmarcTags(ctx);
      if (!t) return { status: 'fail', summary: 'no usable DMARC record, so no report address' };
      const rua = t.get('rua');
      if (!rua)
        return {
          status: 'warn',
          summary: 'no rua=: nobody receives the aggregate reports',
          fix: 'add rua=mailto:ADDRESS',
        };
      const evidence = [`rua=${rua}`];
      const unauthorised: string[] = [];
      for (const uri of rua.split(',').map((u) => u.trim())) {
        const parsed = parseReportUri('rua', uri);
        if ('problem' in parsed || parsed.scheme !== 'mailto') continue;
        const dest = decodeURIComponent(parsed.rest).replace(/!.*$/, '').split('@')[1]?.toLowerCase();
        if (!dest || related(dest, ctx.domain)) continue;
        const name = `${ctx.domain}._report._dmarc.${dest}`;
        let found;
        try {
          found = await ctx.options.resolver.txt(name);
        } catch (err) {
          return dnsFailed(err, name);
        }
        const ok = found.records.some((r) => /^\s*v=DMARC1\s*(;|$)/.test(r));
        evidence.push(
          `${name}: ${ok ? 'v=DMARC1 (authorised)' : found.records.length ? found.records.join(' | ') : (found.absent ?? 'none')}`,
        );
        if (!ok) unauthorised.push(dest);
      }
      return unauthorised.length
        ? {
            status: 'fail',
            summary: `reports go to ${unauthorised.join(', ')}, which does not authorise them: receivers drop that rua address`,
            evidence,
          }
        : { status: 'pass', summary: `aggregate reports to ${rua}`, evidence };
    },
  },
  {
    group: 'authenticity',
    name: 'dkim',
    title: 'DKIM (_domainkey, and the keys of the given selectors)',
    reference: 'RFC 6376 §3.6; RFC 8301; internet.nl: DKIM existence (_domainkey, RFC 2308 empty non-terminal)',
    fix: 'sign outgoing mail with DKIM and publish the key at SELECTOR._domainkey.DOMAIN (RSA 2048 or Ed25519)',
    async run(ctx) {
      const name = `_domainkey.${ctx.domain}`;
      let node;
      try {
        node = await ctx.options.resolver.query(name, 'TXT');
      } catch (err) {
        return dnsFailed(err, name);
      }
      const evidence = [`${name}: ${node.absent ?? 'records'}`];
      const selectors = ctx.options.dkimSelectors;
      if (node.absent === 'NXDOMAIN' && !selectors.length)
        return {
          status: 'fail',
          summary: `${name} does not exist (NXDOMAIN): no DKIM keys are published under it`,
          evidence,
        };
      const f = await judged('DKIM', () => checkDkimKeys(ctx.options.resolver, ctx.domain, selectors));
      const v = verdictOf(f, selectors.length ? 'fail' : 'pass');
      if (f.status === 'absent' && !selectors.length)
        return {
          ...v,
          summary: `${name} exists; no key at the common selectors (give --dkim-selector to judge yours)`,
          evidence: [...evidence, ...(v.evidence ?? [])],
        };
      return { ...v, evidence: [...evidence, ...(v.evidence ?? [])] };
    },
  },
  {
    group: 'authenticity',
    name: 'mta-sts',
    title: 'MTA-STS policy',
    reference: 'RFC 8461',
    fix: 'publish _mta-sts.DOMAIN TXT "v=STSv1; id=..." and https://mta-sts.DOMAIN/.well-known/mta-sts.txt with mode: enforce and an mx: line matching every MX',
    async run(ctx) {
      const hosts = await ctx.mailHosts().then(
        (h) => h.map((x) => x.exchange),
        () => undefined,
      );
      const http = {
        ca: ctx.options.ca,
        timeoutMs: Math.min(ctx.options.waitMs, ctx.remainingMs()),
        port: ctx.options.httpsPort,
      };
      return verdictOf(
        await judged('MTA-STS', () => checkMtaSts(ctx.options.resolver, ctx.domain, hosts, http)),
        'warn',
      );
    },
  },
  {
    group: 'authenticity',
    name: 'tls-rpt',
    title: 'TLS reporting (TLS-RPT)',
    reference: 'RFC 8460',
    fix: 'publish _smtp._tls.DOMAIN TXT "v=TLSRPTv1; rua=mailto:tls-reports@DOMAIN"',
    run: async (ctx) => verdictOf(await judged('TLS-RPT', () => checkTlsRpt(ctx.options.resolver, ctx.domain)), 'warn'),
  },
];
