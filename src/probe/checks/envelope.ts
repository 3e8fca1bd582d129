import { SmtpkitError } from '../../errors.js';
import { mailTransaction } from '../../flows/transaction.js';
import { replyText } from '../../protocol/reply.js';
import type { SmtpSession } from '../../session/session.js';
import type { Check } from '../result.js';
import { check, needed, type CheckContext, type ProbeCheck } from './context.js';

/** MAIL and RCPT through the shared transaction, stopping before DATA: the refusal, if any. */
async function refusal(session: SmtpSession, from: string, rcpt: string): Promise<SmtpkitError | undefined> {
  try {
    await mailTransaction(
      session,
      { from: { name: undefined, address: from }, recipients: [{ name: undefined, address: rcpt }] },
      undefined,
      { pipelining: false, stopAfter: 'rcpt' },
    );
    return undefined;
  } catch (err) {
    if (err instanceof SmtpkitError && err.errorClass === 'rejected' && err.reply) return err;
    throw err;
  }
}

/** --from and --rcpt: would the server take this envelope? No message is sent; the caller says RSET. */
export async function runEnvelope(ctx: CheckContext): Promise<Check<'envelope'>> {
  const from = needed(ctx.settings.from, '--from');
  const rcpt = needed(ctx.settings.rcpt, '--rcpt');
  const refused = await refusal(ctx.session, from, rcpt);
  return check(
    'envelope',
    refused ? 'fail' : 'pass',
    refused
      ? `${refused.phase === 'mail' ? 'MAIL' : 'RCPT'} refused: ${refused.reply!.code} ${replyText(refused.reply!)}`
      : `MAIL FROM:<${from}> and RCPT TO:<${rcpt}> accepted (no message sent)`,
  );
}

export const envelope: ProbeCheck<'envelope'> = {
  names: ['envelope'],
  when: (s) => !!(s.from && s.rcpt),
  run: async (ctx) => [await runEnvelope(ctx)],
  after: (ctx) => ctx.session.command('RSET'),
};
