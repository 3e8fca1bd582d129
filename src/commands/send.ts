import { hasExtension } from '../protocol/capabilities.js';
import { replyText } from '../protocol/reply.js';
import { formatTarget } from '../protocol/target.js';
import { mail, rcpt } from '../protocol/envelope.js';
import { buildMessage, type MessageSpec } from '../message/build.js';
import {
  encoded,
  lineEndingsNote,
  mailTransaction,
  type Envelope,
  type TransactionOptions,
} from '../flows/transaction.js';
import { DataEncoder } from '../protocol/data-encoder.js';
import { greetAndSecure, login, type AuthPlan, type StartTlsMode } from '../flows/establish.js';
import type { TransportOptions } from '../dns/transport.js';
import { dkimSign, type DkimSignOptions } from '../dkim/sign.js';
import type { QUIT_AFTER } from './quit-after.js';
import { jsonDocument, type SessionResult } from '../render/json.js';
import type { Output, OutputSpec } from '../render/output.js';
import { printable } from '../render/printable.js';
import type { SmtpSession } from '../session/session.js';

type Step = (typeof QUIT_AFTER)[number];

/** The message and what to do with it, read from the command line before anything connects. */
export interface SendMessage {
  message: MessageSpec;
  envelope: Envelope;
  /** The Bcc: addresses (in the envelope only), for the dry run to mark. */
  bcc: string[];
  quitAfter: Step | undefined;
  dkim: Readonly<DkimSignOptions> | undefined;
}

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

/**
 * The envelope (MAIL FROM and every RCPT TO, Bcc included, with the parameters a server
 * offering every extension would get), then the message; nothing is contacted.
 */
export async function dryRun(spec: Readonly<SendMessage>, show: Readonly<OutputSpec>, output: Output): Promise<number> {
  const { envelope, dkim } = spec;
  if (dkim?.key.warning) output.stderr.write(`smtpkit: warning: ${printable(dkim.key.warning)}\n`);
  // Without a server we cannot know about 8BITMIME: show the 7-bit-safe form.
  const built = buildMessage(spec.message, false);
  const message = dkim ? await dkimSign(built, dkim) : built;
  const dsn = !!(envelope.notify || envelope.ret || envelope.envid);
  const mailLine = mail(envelope.from.address, {
    size: message.size,
    smtputf8: message.utf8 || undefined,
    requiretls: envelope.requiretls,
    ...(dsn ? { ret: envelope.ret, envid: envelope.envid } : {}),
  });
  const bcc = new Set(spec.bcc);
  const rcpts = envelope.recipients.map((r) => ({
    address: r.address,
    line: rcpt(r.address, envelope.notify ? { notify: envelope.notify, orcpt: r.address } : {}),
    bcc: bcc.has(r.address),
  }));
  // As it would go on the wire (CRLF line ends only), without the dot-stuffing that is not part of it.
  const encoder = new DataEncoder(false);
  if (show.json) {
    const chunks: Buffer[] = [];
    for await (const chunk of encoded(message, encoder)) chunks.push(chunk);
    const outcome = { ok: true, exitCode: 0, message: 'dry run: nothing was sent' };
    output.stdout.write(
      jsonDocument('send', null, outcome, {
        dryRun: true,
        envelope: { mail: mailLine, from: envelope.from.address, recipients: rcpts },
        size: message.size,
        message: Buffer.concat(chunks).toString('utf8'),
        lineEndings: encoder.lineEndings,
      }),
    );
    return 0;
  }
  const lines = [
    '=== Envelope (dry run: nothing is sent; parameters as a server offering every extension would get them)',
    ` -> ${mailLine}`,
    ...rcpts.map((r) => ` -> ${r.line}${r.bcc ? '   (Bcc: in the envelope only)' : ''}`),
    `=== Message (${message.size === undefined ? 'size unknown: read from standard input' : `${message.size} bytes`})`,
  ];
  // The envelope on standard error, the message alone on standard output: `> msg.eml` keeps a clean message.
  output.stderr.write(`${lines.map(printable).join('\n')}\n`);
  for await (const chunk of encoded(message, encoder)) output.data.write(chunk);
  const note = lineEndingsNote(encoder.lineEndings, true);
  if (note) output.stderr.write(`smtpkit: warning: ${printable(note)}\n`);
  return 0;
}
