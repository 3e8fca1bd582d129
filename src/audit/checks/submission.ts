import { SmtpkitError } from '../../errors.js';
import { authMechanisms, hasExtension } from '../../protocol/capabilities.js';
import { replyText } from '../../protocol/reply.js';
import type { SmtpEvent } from '../../session/events.js';
import { SmtpSession } from '../../session/session.js';
import type { AuditCheck, Verdict } from '../check.js';
import type { AuditContext } from '../context.js';
import { NotTested } from '../not-tested.js';
import { mxSessionOptions } from '../smtp-probe.js';
import {
  closedByHost,
  eachLimited,
  endpointSubject,
  findServices,
  waitFor,
  type Discovery,
  type FoundService,
} from './service-endpoints.js';

/**
 * Mail submission (RFC 6409 on 587 with STARTTLS, RFC 8314 on 465 with implicit TLS), found
 * by the domain's SRV records or on each MX host: each must require TLS before AUTH.
 * None found passes, as the guide's rule is "no plaintext-only submission" (internet.nl does
 * not test submission at all), and the summary says that nothing was found.
 */
export const submissionCheck: AuditCheck = {
  group: 'hardening',
  name: 'submission',
  title: 'Submission requires TLS before AUTH (SRV, 587, 465)',
  reference: 'RFC 8314 §3, RFC 6409, RFC 4954 §4, RFC 6186',
  fix: 'submit on 465 (implicit TLS) or on 587 with STARTTLS and AUTH only after it (Postfix submission: smtpd_tls_security_level = encrypt, smtpd_tls_auth_only = yes)',
  async run(ctx) {
    const d = await findServices(ctx, ['submission', 'submissions']);
    if (!d.found.length && !d.notOffered.length && d.noMx) throw new NotTested(d.noMx);
    const talked = await eachLimited(d.found, ctx.options.scanConcurrency, async (s) => ({
      s,
      ...(await submit(ctx, s)),
    }));
    const closed = talked.filter((t) => t.closed);
    if (closed.length === talked.length)
      return {
        status: 'pass',
        summary: `no submission service found (${whyNone(d, closed.length)}): nothing takes a password in plaintext`,
        evidence: [...d.notes, ...closed.flatMap((t) => t.evidence)],
      };
    const verdicts: Verdict[] = talked
      .filter((t) => !t.closed)
      .map((t) => ({ subject: endpointSubject(t.s), ...t.verdict, evidence: t.evidence }));
    for (const [host, list] of closedByHost(closed.map((t) => t.s)))
      verdicts.push({
        subject: host,
        status: 'pass',
        summary: `${list.map((s) => s.endpoint.port).join(', ')} closed`,
        evidence: closed.filter((t) => list.includes(t.s)).flatMap((t) => t.evidence),
      });
    if (d.notes.length) verdicts[0] = { ...verdicts[0]!, evidence: [...d.notes, ...(verdicts[0]!.evidence ?? [])] };
    return verdicts;
  },
};

/** Why nothing was found, in the words of what was looked at. */
function whyNone(d: Discovery, closed: number): string {
  const parts: string[] = [];
  if (d.notOffered.length) parts.push(`SRV says ${d.notOffered.join(' and ')} not offered`);
  if (closed)
    parts.push(
      d.notOffered.length
        ? 'the other port closed on the MX hosts'
        : 'no SRV record; 587 and 465 closed on the MX hosts',
    );
  else if (d.noMx && d.notOffered.length < 2) parts.push(`no SRV record for the rest and ${d.noMx}`);
  return parts.join('; ') || 'no SRV record and no MX host address';
}

interface Outcome {
  closed: boolean;
  verdict: Omit<Verdict, 'subject' | 'evidence'>;
  evidence: string[];
}

/** One submission port: greeting and EHLO, then STARTTLS (587) or all of it inside TLS (465). */
async function submit(ctx: AuditContext, s: FoundService): Promise<Outcome> {
  const wait = waitFor(ctx);
  const events: SmtpEvent[] = [];
  const session = new SmtpSession(
    {
      ...mxSessionOptions(s.endpoint, ctx.options, wait),
      port: s.endpoint.port,
      tlsOnConnect: s.endpoint.implicitTls,
    },
    (e) => events.push(e),
  );
  const abandon = () => session.abandon();
  ctx.signal.addEventListener('abort', abandon, { once: true });
  const evidence = () =>
    events.flatMap((e) =>
      e.type === 'reply' ? [`${e.command}: ${e.reply.code} ${replyText(e.reply).slice(0, 200)}`] : [],
    );
  const port = s.endpoint.port;
  // The audit is over (its report is made): no new connection.
  if (ctx.signal.aborted)
    return {
      closed: false,
      verdict: { status: 'not-tested', summary: "the audit's time limit ran out" },
      evidence: [],
    };
  try {
    await session.connect();
    const caps = await session.ehlo();
    if (s.endpoint.implicitTls)
      return done(false, { status: 'pass', summary: `port ${port}: implicit TLS, then the greeting` });
    const auth = authMechanisms(caps);
    if (auth.length) {
      // Offered in the clear; does it take it? AUTH with no initial response carries no secret, and '*' cancels (RFC 4954 §4).
      const tried = await session.command(`AUTH ${auth[0]}`);
      if (tried.code === 334) await session.command('*', { verb: 'AUTH' });
      const where = hasExtension(caps, 'STARTTLS') ? 'before STARTTLS' : 'with no TLS at all';
      return done(
        false,
        tried.code === 334 || tried.code < 400
          ? {
              status: 'fail',
              summary: hasExtension(caps, 'STARTTLS')
                ? `port ${port} takes AUTH ${auth[0]} before STARTTLS: a password can cross in plaintext`
                : `port ${port} is plaintext-only submission offering AUTH ${auth.join(' ')}`,
            }
          : {
              status: 'warn',
              summary: `port ${port} offers AUTH ${auth.join(' ')} ${where} but refuses it (${tried.code}): a client that sends its credentials with the AUTH command (SASL-IR) has given them away by then`,
            },
      );
    }
    if (!hasExtension(caps, 'STARTTLS')) {
      // No TLS, no AUTH: only taking mail without either would be worse.
      const mail = await session.command(`MAIL FROM:<smtpkit-probe@${ctx.domain}>`);
      if (mail.code < 400) await session.command('RSET');
      return done(
        false,
        mail.code < 400
          ? { status: 'fail', summary: `port ${port} takes mail with neither TLS nor AUTH` }
          : {
              status: 'warn',
              summary: `port ${port} offers neither STARTTLS nor AUTH and refuses MAIL: useless, close it`,
            },
      );
    }
    await session.starttls();
    // starttls() asks EHLO again (RFC 3207 §4.2): what is offered now.
    const after = session.capabilities ? authMechanisms(session.capabilities) : [];
    return done(false, {
      status: 'pass',
      summary: `port ${port}: STARTTLS, AUTH only after it${after.length ? ` (${after.join(' ')})` : ''}`,
    });
  } catch (err) {
    if (!(err instanceof SmtpkitError)) throw err;
    if (err.errorClass === 'connect' && err.kind !== 'interrupted')
      // The session words it for MX candidates ("any MX host of ..."); the reason is what counts here.
      return done(true, undefined, err.message.replace(/^cannot connect to [^:]+: /, ''));
    if (err.errorClass === 'tls' || err.phase === 'starttls')
      return done(false, { status: 'fail', summary: `port ${port}: TLS failed (${err.message})` });
    return done(false, { status: 'not-tested', summary: `port ${port}: ${err.message}` });
  } finally {
    ctx.signal.removeEventListener('abort', abandon);
    await session.quit().catch(() => session.close());
  }

  function done(closed: boolean, verdict?: Outcome['verdict'], why?: string): Outcome {
    return {
      closed,
      verdict: verdict ?? { status: 'pass', summary: 'closed' },
      evidence: why ? [`${port}: ${why}`] : evidence(),
    };
  }
}
