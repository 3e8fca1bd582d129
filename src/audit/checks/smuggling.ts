import { randomBytes } from 'node:crypto';
import { SmtpkitError } from '../../errors.js';
import { freshSession } from '../../probe/fresh-session.js';
import { isPositive, replyText, type Reply } from '../../protocol/reply.js';
import type { AuditCheck, Verdict } from '../check.js';
import type { AuditContext } from '../context.js';
import { NotTested } from '../not-tested.js';
import { mxSessionOptions } from '../smtp-probe.js';
import type { SmtpSession } from '../../session/session.js';

/** The end-of-data variants of the 2023 research (SEC Consult; hannob's smtpsmug), named as written. */
export const SMUGGLING_VARIANTS: ReadonlyArray<{ name: string; bytes: string }> = [
  { name: '\\n.\\n', bytes: '\n.\n' },
  { name: '\\n.\\r\\n', bytes: '\n.\r\n' },
  { name: '\\r.\\n', bytes: '\r.\n' },
  { name: '\\r.\\r\\n', bytes: '\r.\r\n' },
  { name: '\\n.\\r', bytes: '\n.\r' },
  { name: '\\r.\\r', bytes: '\r.\r' },
  { name: '\\r\\n\\x00.\\r\\n', bytes: '\r\n\x00.\r\n' },
];

type Outcome = { variant: string; took: boolean; said: string } | { variant: string; untested: string };

const STOPPED = "the audit's time limit ran out";

const line = (r: Reply) => `${r.code} ${replyText(r)}`;

/**
 * One variant, as smtpsmug sends it: a message whose body holds the variant, then a pause,
 * then the real <CRLF>.<CRLF>. A server that answers during the pause took the variant as
 * the end of the data: a 2xx then means a second message could be smuggled after it.
 * Sends one real message to `rcpt` (the tester's own address) whatever the verdict.
 */
async function tryVariant(
  ctx: AuditContext,
  a: { host: string; address: string },
  rcpt: string,
  v: { name: string; bytes: string },
): Promise<Outcome> {
  const o = ctx.options;
  const wait = Math.min(o.waitMs, ctx.remainingMs());
  let session;
  try {
    session = await freshSession(mxSessionOptions(a, o, wait), () => {}, true);
  } catch (err) {
    return { variant: v.name, untested: (err as Error).message };
  }
  // The audit's deadline: the message is abandoned before its end, so it is never delivered.
  const abandon = () => session.abandon();
  ctx.signal.addEventListener('abort', abandon, { once: true });
  try {
    if (ctx.signal.aborted) return { variant: v.name, untested: STOPPED };
    for (const cmd of [`MAIL FROM:<${rcpt}>`, `RCPT TO:<${rcpt}>`]) {
      const r = await session.command(cmd, { phase: 'smuggling' });
      if (!isPositive(r)) return { variant: v.name, untested: `${cmd}: ${line(r)}` };
    }
    const data = await session.command('DATA', { phase: 'smuggling' });
    if (data.code !== 354) return { variant: v.name, untested: `DATA: ${line(data)}` };
    const id = randomBytes(6).toString('hex');
    const head =
      `From: <${rcpt}>\r\nTo: <${rcpt}>\r\nSubject: smtpkit audit: SMTP smuggling test (end of data ${v.name})\r\n` +
      `Date: ${new Date().toUTCString()}\r\nMessage-ID: <${id}@smtpkit.invalid>\r\n\r\n` +
      `smtpkit audit sent this to test how the server ends DATA; it is safe to delete.\r\nbefore the variant`;
    const pause = o.smugglingPauseMs;
    const chunks = async function* () {
      yield Buffer.from(`${head}${v.bytes}after the variant`, 'latin1');
      // sendMessage writes a chunk when the next one comes: this empty one puts the variant on the wire before the pause.
      yield Buffer.alloc(0);
      await new Promise((r) => setTimeout(r, pause));
      if (ctx.signal.aborted) throw new Error(STOPPED);
      yield Buffer.from('\r\n.\r\n');
    };
    try {
      const final = await session.sendMessage(chunks(), `message with ${v.name}`);
      // A slow server may have ended the data at the variant and answered the lines after it as
      // commands: the reply read here is then not the one to <CRLF>.<CRLF>, and one more is owed.
      const extra = await extraReply(session, pause);
      if (extra)
        return {
          variant: v.name,
          took: true,
          said: `answered ${line(final)} after <CRLF>.<CRLF>, then ${extra}: it answered the lines after the variant as commands`,
        };
      // Refused only at the real end (Postfix's smtpd_forbid_bare_newline = reject: 550 "bare <LF> received"):
      // the server read on past the variant, so it did not take it as the end of the data.
      if (!isPositive(final))
        return { variant: v.name, took: false, said: `refused the message only after <CRLF>.<CRLF>: ${line(final)}` };
      return { variant: v.name, took: false, said: `answered only after <CRLF>.<CRLF>: ${line(final)}` };
    } catch (err) {
      const early = err instanceof SmtpkitError ? err.reply : undefined;
      if (!early) return { variant: v.name, untested: (err as Error).message };
      return isPositive(early)
        ? { variant: v.name, took: true, said: `answered ${line(early)} before <CRLF>.<CRLF>` }
        : { variant: v.name, took: false, said: `refused it before the end: ${line(early)}` };
    }
  } catch (err) {
    return { variant: v.name, untested: (err as Error).message };
  } finally {
    ctx.signal.removeEventListener('abort', abandon);
    session.close();
  }
}

/**
 * After the final reply: NOOP, then a quiet `quietMs`. A server in step answers the NOOP and
 * nothing more; a reply the session did not ask for (it fails the connection as such) means
 * the server had ended the data earlier. Says what came, or undefined when nothing extra did.
 */
async function extraReply(session: SmtpSession, quietMs: number): Promise<string | undefined> {
  const unasked = (err: unknown) =>
    err instanceof SmtpkitError && err.kind === 'unsolicited' && err.reply
      ? `the reply ${line(err.reply)} nobody asked for`
      : undefined;
  try {
    await session.command('NOOP', { phase: 'smuggling' });
    await new Promise((r) => setTimeout(r, quietMs));
    await session.command('NOOP', { phase: 'smuggling' });
    return undefined;
  } catch (err) {
    const said = unasked(err);
    if (said) return said;
    throw err;
  }
}

export const smugglingCheck: AuditCheck = {
  group: 'hardening',
  name: 'smuggling',
  title: 'SMTP smuggling (end-of-data variants)',
  reference: 'SEC Consult 2023; CVE-2023-51764/51765/51766; RFC 5321 §4.1.1.4 (only <CRLF>.<CRLF> ends DATA)',
  fix: 'end DATA only at <CRLF>.<CRLF> and refuse bare line endings (Postfix 3.5.24/3.6.14/3.7.10/3.8.5 and later: smtpd_forbid_bare_newline = normalize or reject, the default in 3.9, with smtpd_forbid_bare_newline_exclusions not covering outside clients; Exim 4.97.1; Sendmail 8.18 srv_features o)',
  async run(ctx): Promise<Verdict[]> {
    const rcpt = ctx.options.smugglingRcpt;
    if (!rcpt) throw new NotTested('sends mail: give --smuggling-rcpt ADDRESS (an address you own at the domain)');
    const hosts = new Map<string, { host: string; address: string }>();
    for (const a of await ctx.mxAddresses()) if (!hosts.has(a.host)) hosts.set(a.host, a);
    const out: Verdict[] = [];
    for (const a of hosts.values()) {
      if (ctx.signal.aborted) break;
      // One variant at a time: each is a real message to the tester, and a pause.
      const results: Outcome[] = [];
      for (const v of SMUGGLING_VARIANTS)
        results.push(ctx.signal.aborted ? { variant: v.name, untested: STOPPED } : await tryVariant(ctx, a, rcpt, v));
      const evidence = results.map((r) => `${r.variant}: ${'untested' in r ? `not tested: ${r.untested}` : r.said}`);
      const took = results.filter((r): r is Extract<Outcome, { took: boolean }> => 'took' in r && r.took);
      const tested = results.filter((r) => !('untested' in r));
      const subject = `${a.host} (${a.address})`;
      if (took.length)
        out.push({
          subject,
          status: 'fail',
          summary: `the server took ${took.map((t) => t.variant).join(', ')} as the end of the data: mail can be smuggled past SPF/DMARC`,
          evidence,
        });
      else if (!tested.length)
        out.push({ subject, status: 'not-tested', summary: `no variant could be sent: ${evidence[0]}`, evidence });
      else
        out.push({
          subject,
          status: tested.length < results.length ? 'warn' : 'pass',
          summary: `none of the ${tested.length} variants tested ended the data${tested.length < results.length ? `; ${results.length - tested.length} could not be sent` : ''}`,
          evidence,
          ...(tested.length < results.length ? { fix: 'run again when the server accepts the test message' } : {}),
        });
    }
    return out;
  },
};
