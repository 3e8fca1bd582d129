import { replyText } from '../../protocol/reply.js';
import { notBuilt, type AuditCheck, type Verdict } from '../check.js';
import { subjectOf } from '../context.js';
import { perAddress, stopped } from './probe-verdict.js';

/** Software names scanners flag when a version follows them in a greeting or EHLO line. */
const PRODUCT =
  /\b(postfix|exim|sendmail|opensmtpd|haraka|qmail|courier|zimbra|mdaemon|hmailserver|kerio|icewarp|axigen|communigate|exchange|microsoft esmtp mail service|smartermail|mailenable|domino|james)\b[^\d\r\n]{0,24}?v?(\d+(?:\.\d+)+)/i;
const VERSION_WORD = /\bversion:?\s*v?(\d+(?:\.\d+)+)/i;

/** The first text in these lines that gives a software version away, or undefined. */
export function versionDisclosed(lines: string[]): string | undefined {
  for (const l of lines) {
    const m = PRODUCT.exec(l) ?? VERSION_WORD.exec(l);
    if (m) return m[0];
  }
  return undefined;
}

export const hardeningChecks: AuditCheck[] = [
  {
    group: 'hardening',
    name: 'open-relay',
    title: 'Open relay refused (16 address forms)',
    reference: 'RFC 5321 §3.9, RFC 2505; nmap smtp-open-relay',
    fix: 'accept mail for outside domains only from authenticated clients or trusted networks (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination)',
    run: (ctx) => perAddress(ctx, 'open-relay'),
  },
  {
    group: 'hardening',
    name: 'vrfy',
    title: 'VRFY does not disclose users',
    reference: 'RFC 5321 §7.3; RFC 2505 §2.11',
    fix: 'disable VRFY (Postfix: disable_vrfy_command = yes) or answer 252 for every address',
    run: (ctx) => perAddress(ctx, 'vrfy'),
  },
  {
    group: 'hardening',
    name: 'expn',
    title: 'EXPN does not disclose lists or users',
    reference: 'RFC 5321 §7.3',
    fix: 'disable EXPN (answer 502)',
    run: (ctx) => perAddress(ctx, 'expn'),
  },
  {
    group: 'hardening',
    name: 'rcpt-enumeration',
    title: 'RCPT TO does not disclose users to anyone who asks',
    reference: 'RFC 5321 §7.3 (a receiver may refuse unknown users; scanners flag the difference)',
    fix: 'rate-limit or tarpit clients that try many unknown recipients (Postfix: smtpd_hard_error_limit, postscreen); accept-then-bounce trades this for backscatter',
    run: (ctx) =>
      perAddress(ctx, 'rcpt-enumeration', (c) =>
        // Refusing unknown users at RCPT is RFC 5321's own advice; the difference is what scanners flag: a warning at most.
        c.status === 'fail' ? { status: 'warn', summary: c.message } : undefined,
      ),
  },
  {
    group: 'hardening',
    name: 'auth-before-tls',
    title: 'AUTH not offered before TLS',
    reference: 'RFC 4954 §4; RFC 8314 §3',
    fix: 'offer AUTH only after STARTTLS (Postfix: smtpd_tls_auth_only = yes)',
    run: (ctx) =>
      perAddress(ctx, 'auth-before-tls', (c) =>
        c.status === 'warn' ? { status: 'fail', summary: c.message } : undefined,
      ),
  },
  {
    group: 'hardening',
    name: 'greeting',
    title: 'Greeting and EHLO sane',
    reference: 'RFC 5321 §4.1.1.1, §4.3.1 (220 with the server’s domain; EHLO accepted)',
    fix: 'greet with "220 <the host’s fully qualified name> ESMTP" and accept EHLO',
    async run(ctx) {
      return Promise.all(
        (await ctx.mxAddresses()).map(async (a): Promise<Verdict> => {
          const f = await ctx.smtp(a);
          const subject = subjectOf(a);
          if (!f.greeting) return { subject, ...stopped(f) };
          const text = replyText(f.greeting);
          const name = text.split(/\s+/)[0] ?? '';
          const evidence = [`${f.greeting.code} ${text}`, ...(f.ehlo ? f.ehlo.lines.map((l) => `EHLO: ${l}`) : [])];
          if (f.greeting.code !== 220)
            return { subject, status: 'fail', summary: `the greeting is ${f.greeting.code}, not 220`, evidence };
          if (!f.ehlo || f.ehlo.code !== 250)
            return { subject, status: 'fail', summary: f.result.error?.message ?? 'EHLO was not accepted', evidence };
          if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+\.?$/i.test(name))
            return {
              subject,
              status: 'warn',
              summary: `the greeting does not start with a fully qualified domain name ("${name}")`,
              evidence,
            };
          return { subject, status: 'pass', summary: `220 ${name}, EHLO accepted`, evidence };
        }),
      );
    },
  },
  {
    group: 'hardening',
    name: 'version-disclosure',
    title: 'No software version in the greeting or EHLO',
    reference: 'CIS/NIST hardening guides; scanners (nmap smtp-commands, Nessus) flag banners with versions',
    fix: 'greet without the software version (Postfix: smtpd_banner = $myhostname ESMTP; Exim: smtp_banner)',
    async run(ctx) {
      return Promise.all(
        (await ctx.mxAddresses()).map(async (a): Promise<Verdict> => {
          const f = await ctx.smtp(a);
          const subject = subjectOf(a);
          if (!f.greeting) return { subject, ...stopped(f) };
          const lines = [...f.greeting.lines, ...(f.ehlo?.lines ?? [])];
          const found = versionDisclosed(lines);
          return found
            ? { subject, status: 'warn', summary: `the server gives its version away: "${found}"`, evidence: lines }
            : { subject, status: 'pass', summary: 'no software version in the greeting or EHLO', evidence: lines };
        }),
      );
    },
  },
  notBuilt(
    'hardening',
    'submission',
    'Submission requires TLS before AUTH (SRV, 587, 465)',
    'RFC 6186, RFC 8314',
    'the _submission._tcp/_submissions._tcp SRV look-ups and probes of 587/465',
  ),
  notBuilt(
    'hardening',
    'mailbox-access',
    'IMAP/POP3 closed or TLS with no plaintext login',
    'RFC 8314, RFC 3501 §6.2.3 (LOGINDISABLED), RFC 2595',
    'IMAP and POP3 probes of 110/143/993/995',
  ),
];
