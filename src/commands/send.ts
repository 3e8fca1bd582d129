import { hasExtension } from '../protocol/capabilities.js';
import { replyText } from '../protocol/reply.js';
import { formatTarget } from '../protocol/target.js';
import { buildMessage } from '../message/build.js';
import { mailTransaction, type TransactionOptions } from '../flows/transaction.js';
import { greetAndSecure, login, type AuthPlan, type StartTlsMode } from '../flows/establish.js';
import type { TransportOptions } from '../dns/transport.js';
import { dkimSign } from '../dkim/sign.js';
import type { QUIT_AFTER } from './quit-after.js';
import type { SendMessage } from './send-dry-run.js';
import type { SessionResult } from '../render/json.js';
import type { SmtpSession } from '../session/session.js';

type Step = (typeof QUIT_AFTER)[number];

export interface SendSpec extends SendMessage {
  login: Readonly<{ starttls: StartTlsMode; auth: AuthPlan | undefined }>;
  /** No server given: deliver through this domain's MX hosts. */
  mxDomain: string | undefined;
  /** --dane: judge the MX certificate by its TLSA records. */
  dane: boolean;
  /** The DNS to ask, when mxDomain or dane need it. */
  resolver: Readonly<TransportOptions> | undefined;
  transaction: Readonly<Pick<TransactionOptions, 'pipelining' | 'bdat' | 'strict' | 'source'>>;
}

/** `smtpkit send`: one message, with everything the server offers that the user asked for. */
export async function send(session: SmtpSession, spec: Readonly<SendSpec>, details: SessionResult): Promise<string> {
  const { envelope, quitAfter, dkim } = spec;
  const targets = spec.resolver ? await import('../flows/mx-targets.js') : undefined;
  const resolver = spec.resolver ? new (await import('../dns/resolver.js')).Resolver(spec.resolver) : undefined;
  if (spec.mxDomain) await targets!.useMx(session, spec.mxDomain, resolver!);
  // DANE judges the certificate inside the handshake, so it is installed before connecting.
  if (spec.dane) targets!.installDane(session, resolver!);
  const stop = (step: Step) => quitAfter === step;
  const stopped = (step: Step) => `stopped after ${step} as asked (--quit-after ${step}); nothing was delivered`;

  const stoppedEarly = await greetAndSecure(session, spec.login.starttls, stop);
  if (spec.dane && (session.isTls || !stoppedEarly)) await targets!.verifyDane(session, resolver!);
  if (stoppedEarly) return stopped(quitAfter!);
  const where = formatTarget(session.currentHost, session.options.port);
  if (spec.login.auth) await login(session, spec.login.auth);
  if (stop('auth')) return stopped('auth');

  // DKIM signs the final form (after the 8BITMIME choice), as it will travel.
  const built = buildMessage(spec.message, hasExtension(session.capabilities!, '8BITMIME'));
  const outgoing = dkim ? await dkimSign(built, dkim) : built;
  if (dkim)
    details.dkim = {
      domain: /\bd=([^;\s]+)/.exec(outgoing.headerLines[0] ?? '')?.[1],
      selector: dkim.selector,
      algorithm: dkim.key.algorithm,
      keyBits: dkim.key.bits,
      canonicalization: `${dkim.canon.header}/${dkim.canon.body}`,
    };
  details.size = outgoing.size;
  const stopAfter = quitAfter === 'mail' || quitAfter === 'rcpt' || quitAfter === 'data' ? quitAfter : undefined;
  const result = await mailTransaction(session, envelope, outgoing, {
    ...spec.transaction,
    stopAfter,
    onLineEndings: (e) => (details.lineEndings = e),
  });
  details.recipients = result.recipients.map(({ address, accepted, reply }) => ({
    address,
    accepted,
    code: reply.code,
    enhanced: reply.enhanced,
    text: replyText(reply),
  }));
  if (result.stopped === 'data' && !session.isOpen)
    return `${stopped('data')} (connection closed after the 354 so no message is taken)`;
  if (result.stopped) return stopped(result.stopped);
  const final = result.final!;
  details.finalReply = final;
  details.queueId = result.queueId;
  const accepted = result.recipients.filter((r) => r.accepted).length;
  // A partial delivery names who did not get it: -q's one line is all a script may read.
  const refused = result.recipients
    .filter((r) => !r.accepted)
    .map(
      (r) => `<${r.address}> ${r.reply.code}${r.reply.enhanced ? ` ${r.reply.enhanced}` : ''} ${replyText(r.reply)}`,
    );
  return `message accepted by ${where} for ${accepted} of ${result.recipients.length} recipient(s)${result.queueId ? `, queue id ${result.queueId}` : ''}: ${final.code} ${replyText(final)}${refused.length ? `; refused: ${refused.join('; ')}` : ''}`;
}
