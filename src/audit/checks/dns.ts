import { checkDnsbl } from '../../dns/checks/dnsbl.js';
import { NoMailHost } from '../../dns/mx.js';
import { replyText } from '../../protocol/reply.js';
import { NotTested, type AuditCheck, type Verdict } from '../check.js';
import { subjectOf } from '../context.js';

/** A greeting slower than this is named a greeting delay (postscreen waits 6 s by default). */
const GREETING_DELAY_MS = 2000;

const MX_SHAPE = /CNAME|IP address|null MX|not a valid host name/;

/** The checks of the DNS and reachability group. */
export const dnsChecks: AuditCheck[] = [
  {
    group: 'dns',
    name: 'mx',
    title: 'MX records',
    reference: 'RFC 5321 §5.1, RFC 7505',
    fix: 'publish MX records naming host names (not aliases, not IP addresses); a domain that receives no mail publishes "MX 0 ." (null MX)',
    async run(ctx) {
      let report;
      try {
        report = await ctx.mx();
      } catch (err) {
        if (err instanceof NoMailHost)
          return {
            status: 'fail',
            summary: err.message,
            ...(err.absence === 'NODATA'
              ? { fix: 'publish MX records, or "MX 0 ." (RFC 7505) if the domain only sends mail' }
              : {}),
          };
        throw err;
      }
      const evidence = report.hosts.map((h) => `MX ${h.preference} ${h.exchange}`);
      if (report.kind === 'null')
        return { status: 'pass', summary: 'null MX (RFC 7505): the domain declares it accepts no mail', evidence };
      if (report.kind === 'implicit')
        return {
          status: 'warn',
          summary: `no MX records: senders fall back to the address of ${ctx.domain} itself (implicit MX)`,
          evidence,
          fix: `publish an MX record for ${ctx.domain}; the implicit MX is a fallback, and internet.nl and most checkers expect MX`,
        };
      const listed = report.listed ?? report.hosts.length;
      const problems = report.hosts.flatMap((h) =>
        h.problems.filter((p) => MX_SHAPE.test(p)).map((p) => `${h.exchange}: ${p}`),
      );
      const broken = problems.filter((p) => !/CNAME/.test(p));
      return {
        status: broken.length ? 'fail' : problems.length ? 'warn' : 'pass',
        summary: problems.length
          ? problems.join('; ')
          : `${listed} MX host${listed === 1 ? '' : 's'}${listed > report.hosts.length ? ` (only the first ${report.hosts.length} are looked up and probed)` : ''}`,
        evidence,
      };
    },
  },
  {
    group: 'dns',
    name: 'mx-addresses',
    title: 'Addresses of each MX host (IPv4 and IPv6)',
    reference: 'RFC 5321 §5.1; internet.nl: IPv6 for the mail servers',
    fix: 'give every MX host an A and an AAAA record',
    async run(ctx) {
      return (await ctx.mailHosts()).map((h): Verdict => {
        const evidence = h.addresses.map((a) => `${a.family === 4 ? 'A' : 'AAAA'} ${a.address}`);
        const failed = h.problems.filter((p) => /no A or AAAA|address look-up failed|names? no host/.test(p));
        if (failed.length || !h.addresses.length)
          return {
            subject: h.exchange,
            status: 'fail',
            summary: failed.join('; ') || 'no address: mail cannot reach this host',
            evidence,
          };
        const v6 = h.addresses.some((a) => a.family === 6);
        return {
          subject: h.exchange,
          status: v6 ? 'pass' : 'warn',
          summary: v6
            ? `${h.addresses.length} address${h.addresses.length === 1 ? '' : 'es'}, IPv4 and IPv6`
            : 'IPv4 only: no AAAA record, so IPv6-only senders cannot reach it',
          evidence,
        };
      });
    },
  },
  {
    group: 'dns',
    name: 'reachability',
    title: 'SMTP reachable on every MX address',
    reference: 'RFC 5321 §3.1; internet.nl: every address of each MX answers on port 25',
    fix: 'make every address of each MX host accept SMTP connections, or remove the addresses that do not',
    async run(ctx) {
      return Promise.all(
        (await ctx.mxAddresses()).map(async (a): Promise<Verdict> => {
          const f = await ctx.smtp(a);
          const subject = subjectOf(a);
          const greeted = f.check('greeting');
          // A greeting pause (postscreen's greet delay, a tarpit) is said, never held against the checks after it.
          const banner = f.result.timings.banner ?? 0;
          const delayed =
            banner >= GREETING_DELAY_MS
              ? ` (the greeting took ${Math.round(banner)} ms: a greeting delay or tarpit)`
              : '';
          if (greeted)
            return {
              subject,
              status: f.greeting && f.greeting.code === 220 ? 'pass' : 'fail',
              summary: `port ${ctx.options.port}: ${greeted.message}${delayed}`,
              evidence: f.greeting ? [`${f.greeting.code} ${replyText(f.greeting)}`] : [],
            };
          const e = f.result.error;
          return {
            subject,
            status: 'fail',
            summary: `port ${ctx.options.port}: ${e?.message ?? 'no greeting'}`,
            evidence: [],
          };
        }),
      );
    },
  },
  {
    group: 'dns',
    name: 'fcrdns',
    title: 'Forward-confirmed reverse DNS of each MX address',
    reference: 'RFC 1912 §2.1; M3AAWG sender best practices',
    fix: 'give each MX address a PTR record naming a host whose A/AAAA record points back to it',
    async run(ctx) {
      return (await ctx.mailHosts()).flatMap((h) =>
        h.addresses.map((a): Verdict => {
          const subject = `${h.exchange} (${a.address})`;
          const evidence = (a.ptr ?? []).map((p) => `PTR ${p}`);
          if (a.ptrError)
            return { subject, status: 'fail', summary: `the PTR look-up failed: ${a.ptrError}`, evidence };
          if (!a.ptr?.length) return { subject, status: 'fail', summary: 'no reverse DNS (PTR) name', evidence };
          return a.fcrdns
            ? { subject, status: 'pass', summary: `${a.ptr.join(', ')} resolves back to ${a.address}`, evidence }
            : {
                subject,
                status: 'fail',
                summary: `the reverse name ${a.ptr.join(', ')} does not resolve back to ${a.address}`,
                evidence,
              };
        }),
      );
    },
  },
  {
    group: 'dns',
    name: 'greeting-ptr',
    title: 'Greeting name matches the reverse DNS name',
    reference: 'RFC 5321 §4.3.1 (the greeting names the server); common receiver practice',
    fix: 'make the name in the 220 greeting the PTR name of the address (Postfix: myhostname)',
    async run(ctx) {
      return Promise.all(
        (await ctx.mxAddresses()).map(async (a): Promise<Verdict> => {
          const c = (await ctx.smtp(a)).check('ptr');
          if (!c) throw new NotTested(`${subjectOf(a)}: no greeting to compare`);
          return { subject: subjectOf(a), status: c.status === 'pass' ? 'pass' : 'warn', summary: c.message };
        }),
      );
    },
  },
  {
    group: 'dns',
    name: 'dnsbl',
    title: 'MX addresses on DNS blocklists',
    reference: 'RFC 5782',
    fix: 'find out why the address is listed (the list’s look-up page says), fix the cause, and ask for delisting',
    async run(ctx) {
      if (!ctx.options.dnsbl.length)
        throw new NotTested(
          'no blocklist asked for: give --dnsbl (public lists refuse look-ups through the big public resolvers, so it is opt-in)',
        );
      const addresses = await ctx.mxAddresses();
      const { finding } = await checkDnsbl(
        ctx.options.resolver,
        addresses.map((a) => a.address),
        ctx.options.dnsbl,
      );
      return {
        status: finding.status === 'absent' ? 'pass' : finding.status,
        summary: finding.summary,
        evidence: finding.details,
      };
    },
  },
];
