import { encoded, lineEndingsNote, type Envelope } from '../flows/transaction.js';
import { buildMessage, type MessageSpec } from '../message/build.js';
import { dkimSign, type DkimSignOptions } from '../dkim/sign.js';
import { DataEncoder } from '../protocol/data-encoder.js';
import { mail, rcpt } from '../protocol/envelope.js';
import { writeDryRun } from '../render/dry-run.js';
import type { Output, OutputSpec } from '../render/output.js';
import { printable } from '../render/printable.js';
import type { QUIT_AFTER } from './quit-after.js';

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
  const bcc = new Set(spec.bcc);
  // As it would go on the wire (CRLF line ends only), without the dot-stuffing that is not part of it.
  const encoder = new DataEncoder(false);
  await writeDryRun(output, show, {
    mail: mail(envelope.from.address, {
      size: message.size,
      smtputf8: message.utf8 || undefined,
      requiretls: envelope.requiretls,
      ...(dsn ? { ret: envelope.ret, envid: envelope.envid } : {}),
    }),
    from: envelope.from.address,
    recipients: envelope.recipients.map((r) => ({
      address: r.address,
      line: rcpt(r.address, envelope.notify ? { notify: envelope.notify, orcpt: r.address } : {}),
      bcc: bcc.has(r.address),
    })),
    size: message.size,
    bytes: encoded(message, encoder),
    lineEndings: () => encoder.lineEndings,
    note: () => lineEndingsNote(encoder.lineEndings, true),
  });
  return 0;
}
