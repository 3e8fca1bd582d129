import { isPositive, replyText, type Reply } from '../../protocol/reply.js';
import type { SmtpSession } from '../../session/session.js';
import { inBatches } from '../fresh-session.js';
import type { Attempt, Check } from '../result.js';
import { connectedAddress, needed, openFresh, type CheckContext, type ProbeCheck } from './context.js';

/** Outside domains that can never exist (RFC 2606 .invalid), and a documentation address (RFC 5737). */
const OUTSIDE = 'relay-test.smtpkit.invalid';
const SENDER = 'relay-probe@smtpkit.invalid';
const OUTSIDE_IP = '192.0.2.1';

export interface RelayForm {
  form: string;
  /** The MAIL FROM and RCPT TO arguments exactly as sent. */
  mail: string;
  rcpt: string;
}

/**
 * The address forms nmap's smtp-open-relay and the usual relay tests try: each one, if
 * accepted, would let anyone send through this server to the outside. `local` is the
 * server's own name (from its greeting), `ip` the address we reached it at.
 */
export function relayForms(local: string, ip: string): RelayForm[] {
  const at = `[${ip}]`;
  return [
    { form: 'outside-to-outside', mail: `<${SENDER}>`, rcpt: `<victim@${OUTSIDE}>` },
    { form: 'local-sender', mail: `<relay-probe@${local}>`, rcpt: `<victim@${OUTSIDE}>` },
    { form: 'null-sender', mail: '<>', rcpt: `<victim@${OUTSIDE}>` },
    { form: 'postmaster-sender', mail: `<postmaster@${local}>`, rcpt: `<victim@${OUTSIDE}>` },
    { form: 'unbracketed', mail: `<${SENDER}>`, rcpt: `victim@${OUTSIDE}` },
    { form: 'percent-hack', mail: `<${SENDER}>`, rcpt: `<victim%${OUTSIDE}@${local}>` },
    { form: 'percent-hack-ip-literal', mail: `<${SENDER}>`, rcpt: `<victim%${OUTSIDE}@${at}>` },
    { form: 'bang-path', mail: `<${SENDER}>`, rcpt: `<${OUTSIDE}!victim@${local}>` },
    { form: 'bang-path-bare', mail: `<${SENDER}>`, rcpt: `<${OUTSIDE}!victim>` },
    { form: 'source-route', mail: `<${SENDER}>`, rcpt: `<@${local}:victim@${OUTSIDE}>` },
    { form: 'quoted-at', mail: `<${SENDER}>`, rcpt: `<"victim@${OUTSIDE}">` },
    { form: 'quoted-at-local', mail: `<${SENDER}>`, rcpt: `<"victim@${OUTSIDE}"@${local}>` },
    { form: 'double-at', mail: `<${SENDER}>`, rcpt: `<victim@${OUTSIDE}@${local}>` },
    { form: 'outside-domain-local-part', mail: `<${SENDER}>`, rcpt: `<victim.${OUTSIDE}@${local}>` },
    { form: 'ip-literal', mail: `<${SENDER}>`, rcpt: `<victim@[${OUTSIDE_IP}]>` },
    { form: 'postmaster-outside', mail: `<${SENDER}>`, rcpt: `<postmaster@${OUTSIDE}>` },
  ];
}

const line = (r: Reply) => `${r.code} ${replyText(r)}`;

/** One form: MAIL, RCPT (if MAIL passed), always RSET; nothing is ever sent past RCPT. */
export async function tryForm(session: SmtpSession, f: RelayForm): Promise<Attempt> {
  const commands = [`MAIL FROM:${f.mail}`];
  const mail = await session.command(commands[0]!, { phase: 'relay' });
  let reply = mail;
  if (isPositive(mail)) {
    commands.push(`RCPT TO:${f.rcpt}`);
    reply = await session.command(commands[1]!, { phase: 'relay' });
  }
  await session.command('RSET', { phase: 'relay' });
  return { form: f.form, commands, reply: line(reply), accepted: commands.length === 2 && isPositive(reply) };
}

/** Any accepted outside recipient fails, naming each form that got through. */
export function relayCheck(attempts: Attempt[]): Check<'open-relay'> {
  const open = attempts.filter((a) => a.accepted);
  if (open.length) {
    const names = open.map((a) => `${a.form} (${a.commands.at(-1)}: ${a.reply})`).join('; ');
    return {
      name: 'open-relay',
      status: 'fail',
      message: `OPEN RELAY: the server accepted a recipient in an outside domain without AUTH: ${names}`,
      attempts,
    };
  }
  const tried = attempts.filter((a) => !a.reply.startsWith('error:'));
  if (!tried.length)
    return {
      name: 'open-relay',
      status: 'warn',
      message: `could not test: ${attempts[0]?.reply ?? 'no attempt'}`,
      attempts,
    };
  const first = tried[0]!;
  const untested = attempts.length - tried.length;
  return {
    name: 'open-relay',
    status: untested ? 'warn' : 'pass',
    message: `relaying refused: ${first.reply} (${tried.length} of ${attempts.length} address forms refused${untested ? `; ${untested} could not be tried` : ''})`,
    attempts,
  };
}

/** A name safe to put in an address: the greeting's first word when it looks like a domain. */
export function localDomain(greetingText: string, fallback: string): string {
  const name = greetingText.split(/\s+/)[0] ?? '';
  return /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(name)
    ? name
    : /^[A-Za-z0-9.-]+$/.test(fallback)
      ? fallback
      : 'localhost';
}

/** Every address form, five to a fresh session (a server may cut a client off after a few refusals). */
export async function runOpenRelay(ctx: CheckContext): Promise<Check<'open-relay'>> {
  const { session } = ctx;
  const local = localDomain(replyText(needed(ctx.greeting, 'the greeting')), session.currentHost);
  const forms = relayForms(local, connectedAddress(ctx) ?? session.currentHost);
  const attempts = await inBatches(forms, 5, openFresh(ctx), tryForm, (f, err) => ({
    form: f.form,
    commands: [],
    reply: `error: ${(err as Error).message}`,
    accepted: false,
  }));
  return relayCheck(attempts);
}

export const openRelay: ProbeCheck<'open-relay'> = {
  names: ['open-relay'],
  when: (s) => s.relayTest,
  run: async (ctx) => [await runOpenRelay(ctx)],
};
