import { checkDane, daneMatch, describeTlsa } from '../../dns/checks/dane.js';
import { DnsFailure } from '../../dns/resolver.js';
import type { AuditCheck, Verdict } from '../check.js';
import { subjectOf } from '../context.js';
import { perAddress, stopped } from './probe-verdict.js';
import { helloChecks } from './tls-hello.js';

const onScanned = (a: { scan: boolean }) => a.scan;

/** NCSC TLS guidelines (2025-05): a DH group under 2048 bits is insufficient, under 3072 to be phased out. */
const dhBits = (group: string) => Number(/^DH (\d+)/.exec(group)?.[1] ?? Infinity);

/** The grade of the weakest finite-field group, and the groups that earn it (named in the finding). */
function dhGrade(groups: string[]): { status: Verdict['status']; weakest: string[] } {
  const under = (limit: number) => groups.filter((g) => dhBits(g) < limit);
  if (under(2048).length) return { status: 'fail', weakest: under(2048) };
  if (under(3072).length) return { status: 'warn', weakest: under(3072) };
  return { status: 'pass', weakest: [] };
}

export const transportChecks: AuditCheck[] = [
  {
    group: 'transport',
    name: 'starttls',
    title: 'STARTTLS offered and working',
    reference: 'RFC 3207; internet.nl: STARTTLS available',
    fix: 'enable STARTTLS with a certificate for the MX host name (Postfix: smtpd_tls_security_level = may, smtpd_tls_cert_file/key_file)',
    async run(ctx) {
      return Promise.all(
        (await ctx.mxAddresses()).map(async (a): Promise<Verdict> => {
          const f = await ctx.smtp(a);
          const subject = subjectOf(a);
          const c = f.check('tls');
          const ehlo = f.ehlo ? f.ehlo.lines.map((l) => `EHLO: ${l}`) : [];
          if (c) return { subject, status: c.status === 'pass' ? 'pass' : 'fail', summary: c.message, evidence: ehlo };
          // STARTTLS refused or its handshake failing stops the probe in the TLS step: a failure of this check.
          const e = f.result.error;
          if (e?.errorClass === 'tls') return { subject, status: 'fail', summary: e.message, evidence: ehlo };
          return { subject, ...stopped(f) };
        }),
      );
    },
  },
  {
    group: 'transport',
    name: 'tls-version',
    title: 'TLS version negotiated',
    reference: 'RFC 8996; NCSC TLS guidelines 2025-05 (1.3 good, 1.2 sufficient)',
    fix: 'allow TLS 1.2 and 1.3 only',
    run: (ctx) => perAddress(ctx, 'tls-version'),
  },
  {
    group: 'transport',
    name: 'tls-protocols',
    title: 'TLS versions accepted (scan)',
    reference: 'RFC 8996; NCSC TLS guidelines 2025-05',
    fix: 'turn off SSLv3, TLS 1.0 and 1.1 (Postfix: smtpd_tls_protocols = >=TLSv1.2)',
    run: (ctx) => perAddress(ctx, 'tls-protocols', undefined, onScanned),
  },
  {
    group: 'transport',
    name: 'tls-ciphers',
    title: 'Cipher suites accepted (scan)',
    reference: 'NCSC TLS guidelines 2025-05; RFC 7525',
    fix: 'offer only AEAD suites with forward secrecy (ECDHE/DHE with AES-GCM or ChaCha20-Poly1305)',
    run: (ctx) => perAddress(ctx, 'tls-ciphers', undefined, onScanned),
  },
  {
    group: 'transport',
    name: 'cipher-order',
    title: 'Server enforces its cipher order (TLS 1.2)',
    reference: 'NCSC TLS guidelines 2025-05 (cipher order)',
    fix: 'make the server choose the suite (Postfix: tls_preempt_cipherlist = yes)',
    run: (ctx) =>
      perAddress(
        ctx,
        'tls-ciphers',
        (_c, f) => {
          const v12 = f.result.scan?.protocols.find((p) => p.version === 'TLSv1.2' && p.accepted);
          if (!v12) return { status: 'not-tested', summary: 'TLS 1.2 not accepted: no order to judge' };
          if (v12.ciphers.length < 2) return { status: 'pass', summary: 'one TLS 1.2 suite: nothing to order' };
          if (v12.serverOrder === null)
            return { status: 'not-tested', summary: 'the scan could not tell whose order wins' };
          return v12.serverOrder
            ? { status: 'pass', summary: `the server picks: ${v12.preferred.slice(0, 4).join(', ')}` }
            : { status: 'warn', summary: 'the client’s order wins: a client offering weak suites first gets them' };
        },
        onScanned,
      ),
  },
  {
    group: 'transport',
    name: 'key-exchange',
    title: 'Key-exchange parameters',
    reference: 'NCSC TLS guidelines 2025-05; RFC 7919 (FFDHE), RFC 8422 (ECDHE)',
    fix: 'use ECDHE groups X25519, P-256 or P-384 (and X25519MLKEM768 where offered); DH groups of at least 3072 bits (ffdhe3072)',
    run: (ctx) =>
      perAddress(
        ctx,
        'tls-ciphers',
        (_c, f) => {
          const scan = f.result.scan;
          if (!scan) return undefined;
          const dh = [
            ...new Set(
              scan.protocols.flatMap((p) => p.ciphers.map((c) => c.group ?? '')).filter((g) => g.startsWith('DH')),
            ),
          ];
          const ec = [...new Set(scan.groups.map((g) => `${g.name} (${g.version})`))];
          const { status, weakest } = dhGrade(dh);
          return {
            status,
            summary:
              status === 'pass'
                ? `groups: ${[...ec, ...dh].join(', ') || 'none found'}`
                : `finite-field ${weakest.join(', ')}: ${status === 'fail' ? 'insufficient (under 2048 bits)' : 'to be phased out (under 3072 bits)'}`,
            evidence: [...ec, ...dh],
          };
        },
        onScanned,
      ),
  },
  {
    group: 'transport',
    name: 'certificate-trust',
    title: 'Certificate chain trusted',
    reference:
      'RFC 5280; internet.nl: trust chain (port 25 is opportunistic TLS, RFC 7435: a warning unless DANE or MTA-STS enforce)',
    fix: 'serve a certificate from a public CA with its full chain, or authenticate it with DANE',
    run: (ctx) => perAddress(ctx, 'certificate-trust'),
  },
  {
    group: 'transport',
    name: 'certificate-name',
    title: 'Certificate matches the MX host name',
    reference: 'RFC 6125; RFC 7672 §3.2.3',
    fix: 'include the MX host name in the certificate’s subjectAltName',
    run: (ctx) => perAddress(ctx, 'certificate-name'),
  },
  {
    group: 'transport',
    name: 'certificate-expiry',
    title: 'Certificate not expired or close to it',
    reference: 'RFC 5280 §4.1.2.5',
    fix: 'renew the certificate (and automate renewal)',
    run: (ctx) => perAddress(ctx, 'certificate-expiry'),
  },
  {
    group: 'transport',
    name: 'dane',
    title: 'DANE: TLSA exists, is validated, matches, and allows a rollover',
    reference: 'RFC 7672; RFC 7671 §8 (rollover); internet.nl: DANE existence, validity, rollover scheme',
    fix: 'publish DNSSEC-signed TLSA records at _25._tcp.MX: "3 1 1 <sha256 of the key>" for the current key and a second for the next key or the issuing CA (2 1 1)',
    async run(ctx) {
      const addresses = await ctx.mxAddresses();
      const hosts = [...new Set(addresses.map((a) => a.host))];
      return Promise.all(
        hosts.map(async (host): Promise<Verdict> => {
          // TLSA is at port 25 whatever --port says: an MX is an SMTP server on 25 (RFC 7672 §2.2).
          let f;
          try {
            f = await checkDane(ctx.options.resolver, [host], 25);
          } catch (err) {
            if (!(err instanceof DnsFailure)) throw err;
            return { subject: host, status: 'fail', summary: `the TLSA look-up failed (${err.short})` };
          }
          const evidence = [...f.records, ...f.details];
          if (f.status === 'absent')
            return { subject: host, status: 'fail', summary: 'no TLSA records: no DANE', evidence };
          if (f.status === 'fail') return { subject: host, status: 'fail', summary: f.summary, evidence };
          const tlsa = f.hosts?.[0]?.tlsa ?? [];
          // The certificate presented to our probe of each of the host's addresses.
          const problems: string[] = [];
          for (const a of addresses.filter((x) => x.host === host)) {
            const facts = await ctx.smtp(a);
            if (!facts.chain.length) {
              problems.push(`${subjectOf(a)}: no certificate seen (no TLS), so no match could be made`);
              continue;
            }
            const { matched } = daneMatch(tlsa, facts.chain);
            if (matched) evidence.push(`${subjectOf(a)}: the certificate matches ${describeTlsa(matched)}`);
            else problems.push(`${subjectOf(a)}: no usable TLSA record matches the certificate presented`);
          }
          const usable = daneMatch(tlsa, []).usable;
          if (problems.length || f.status === 'warn')
            return {
              subject: host,
              status: 'fail',
              summary: [...(f.status === 'warn' ? [f.summary] : []), ...problems].join('; '),
              evidence,
            };
          if (usable < 2)
            return {
              subject: host,
              status: 'warn',
              summary: 'one usable TLSA record: no rollover scheme (a key change breaks delivery until DNS catches up)',
              evidence,
              fix: 'publish a second usable TLSA record (the next key, or 2 1 1 for the issuing CA) before changing keys',
            };
          return {
            subject: host,
            status: 'pass',
            summary: `${usable} usable TLSA records, validated, matching the certificate`,
            evidence,
          };
        }),
      );
    },
  },
  ...helloChecks,
];
