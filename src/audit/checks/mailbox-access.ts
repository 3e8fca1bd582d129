import type { MailboxConversation } from '../../mailbox/conversation.js';
import { talkImap } from '../../mailbox/imap.js';
import { talkPop3 } from '../../mailbox/pop3.js';
import type { AuditCheck, Verdict } from '../check.js';
import { NotTested } from '../not-tested.js';
import {
  closedByHost,
  eachLimited,
  endpointSubject,
  findServices,
  waitFor,
  type FoundService,
} from './service-endpoints.js';

const MAILBOX = ['imap', 'imaps', 'pop3', 'pop3s'] as const;

/**
 * IMAP and POP3 of the domain (its RFC 6186 SRV records, else 143/993/110/995 of each MX
 * host): each closed, or TLS before any login. Only a made-up user name is ever sent.
 */
export const mailboxAccessCheck: AuditCheck = {
  group: 'hardening',
  name: 'mailbox-access',
  title: 'IMAP/POP3 closed or TLS with no plaintext login',
  reference: 'RFC 8314 §3-4, RFC 9051 §6.2.3 / RFC 3501 §6.2.3 (LOGINDISABLED), RFC 2595 §4 (STLS before USER)',
  fix: 'offer IMAP on 993 and POP3 on 995 (implicit TLS), or refuse logins before STARTTLS/STLS (Dovecot: disable_plaintext_auth = yes; ssl = required); close the ports nobody uses',
  async run(ctx) {
    const d = await findServices(ctx, MAILBOX);
    if (!d.found.length && !d.notOffered.length)
      throw new NotTested([...d.notes, ...(d.noMx ? [d.noMx] : [])].join('; ') || 'no IMAP or POP3 service to look at');
    const talked = await eachLimited(d.found, ctx.options.scanConcurrency, async (s) => {
      const limits = { waitMs: waitFor(ctx), signal: ctx.signal };
      const c = s.service.startsWith('imap') ? await talkImap(s.endpoint, limits) : await talkPop3(s.endpoint, limits);
      return { s, c };
    });
    const closed = talked.filter(({ c }) => !c.connected && isClosed(c)).map(({ s }) => s);
    const verdicts: Verdict[] = talked
      .filter(({ c }) => c.connected || !isClosed(c))
      .map(({ s, c }) => ({ subject: endpointSubject(s), ...judge(s, c), evidence: [...c.transcript] }));
    for (const [host, list] of closedByHost(closed))
      verdicts.push({
        subject: host,
        status: 'pass',
        summary: `${list.map((s) => `${s.service} ${s.endpoint.port}`).join(', ')} closed`,
        evidence: list.map((s) => `${s.endpoint.port}: ${talked.find((t) => t.s === s)!.c.stop!.message}`),
      });
    if (d.notOffered.length)
      verdicts.push({
        status: 'pass',
        summary: `${d.notOffered.join(', ')}: not offered (SRV target ".")`,
        evidence: d.notes,
      });
    else if (d.notes.length)
      verdicts[0] = { ...verdicts[0]!, evidence: [...d.notes, ...(verdicts[0]!.evidence ?? [])] };
    return verdicts;
  },
};

/** Refused or filtered: nothing listens there (what the check asks for, or TLS). */
export const isClosed = (c: Pick<MailboxConversation, 'stop'>) =>
  c.stop?.kind === 'refused' || c.stop?.kind === 'unreachable';

/** One conversation judged: what a client's password would meet there. */
export function judge(s: FoundService, c: MailboxConversation): Omit<Verdict, 'subject'> {
  const port = s.endpoint.port;
  if (!c.connected)
    return c.stop?.kind === 'tls'
      ? { status: 'fail', summary: `port ${port} is open but implicit TLS failed: ${c.stop.message}` }
      : { status: 'not-tested', summary: `port ${port}: ${c.stop?.message ?? 'no conversation'}` };
  if (c.greeting === undefined) return { status: 'not-tested', summary: `port ${port}: ${c.stop?.message}` };
  const imap = s.service.startsWith('imap');
  const ok = imap ? /^\* OK\b/i.test(c.greeting) : /^\+OK\b/i.test(c.greeting);
  // PREAUTH to a client that showed no certificate: anyone gets the mailbox, TLS or not (RFC 9051 §7.1.4).
  if (imap && /^\* PREAUTH\b/i.test(c.greeting))
    return {
      status: 'fail',
      summary: s.endpoint.implicitTls
        ? `port ${port} logs every client in without a password (PREAUTH), over TLS or not`
        : `port ${port} logs every client in without TLS or a password (PREAUTH)`,
    };
  if (!ok) return { status: 'pass', summary: `port ${port} refuses service at the greeting` };
  if (s.endpoint.implicitTls) return { status: 'pass', summary: `port ${port}: implicit TLS, then the greeting` };
  if (c.stop) return { status: 'not-tested', summary: `port ${port}: ${c.stop.message}` };
  return imap ? judgeImap(port, c) : judgePop3(port, c);
}

function judgeImap(port: number, c: MailboxConversation): Omit<Verdict, 'subject'> {
  const caps = c.capabilities;
  if (!caps) return { status: 'not-tested', summary: `port ${port}: CAPABILITY was not answered OK` };
  const disabled = caps.includes('LOGINDISABLED');
  const plainAuth = caps.filter((a) => a === 'AUTH=PLAIN' || a === 'AUTH=LOGIN');
  if (!caps.includes('STARTTLS'))
    return disabled && !plainAuth.length
      ? {
          status: 'warn',
          summary: `port ${port} offers no STARTTLS and no login: useless, close it (993 is the TLS port)`,
        }
      : { status: 'fail', summary: `port ${port} is plaintext-only IMAP: a password can be sent without TLS` };
  if (!disabled)
    return {
      status: 'fail',
      summary: `port ${port} offers STARTTLS but not LOGINDISABLED before it: a client may send LOGIN in plaintext`,
    };
  if (plainAuth.length)
    return { status: 'fail', summary: `port ${port} offers ${plainAuth.join(' ')} before STARTTLS` };
  if (c.tls !== 'done') return { status: 'fail', summary: `port ${port}: STARTTLS offered but failed: ${c.tls}` };
  return { status: 'pass', summary: `port ${port}: STARTTLS and LOGINDISABLED before it` };
}

function judgePop3(port: number, c: MailboxConversation): Omit<Verdict, 'subject'> {
  if (c.userReply && /^\+OK\b/i.test(c.userReply))
    return {
      status: 'fail',
      summary: `port ${port} accepts USER before STLS: the password would follow in plaintext`,
    };
  if (c.tls === 'done') return { status: 'pass', summary: `port ${port}: STLS, USER refused before it` };
  return c.tls?.startsWith('refused')
    ? {
        status: 'warn',
        summary: `port ${port} offers no STLS; USER is refused: useless, close it (995 is the TLS port)`,
      }
    : { status: 'fail', summary: `port ${port}: STLS offered but failed: ${c.tls}` };
}
