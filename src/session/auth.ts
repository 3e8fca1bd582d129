import { SmtpkitError } from '../errors.js';
import { excerpt, replyText, type Reply } from '../protocol/reply.js';
import { describeTimeout } from '../util/duration.js';
import { SaslError, type SaslClient, type SaslResponse } from '../sasl/mechanism.js';
import type { SmtpSession } from './session.js';

const MAX_ROUNDS = 10;
export const REDACTED = '<redacted>';

/**
 * Runs one AUTH exchange (RFC 4954). Lines that carry a secret show as `<redacted>`
 * unless `showSecrets`. Failure of any kind is an auth error (exit 7).
 */
export async function authenticate(session: SmtpSession, client: SaslClient, showSecrets: boolean): Promise<Reply> {
  try {
    return await session.timed('auth', () => exchange(session, client, showSecrets));
  } catch (err) {
    throw err instanceof SmtpkitError ? err.inPhase('auth') : err;
  }
}

async function exchange(session: SmtpSession, client: SaslClient, showSecrets: boolean): Promise<Reply> {
  const initial = client.initial();
  const first = initial ? `AUTH ${client.name} ${initial.data || '='}` : `AUTH ${client.name}`;
  let reply = await session.command(first, {
    shown: initial?.secret && !showSecrets ? `AUTH ${client.name} ${REDACTED}` : undefined,
  });
  for (let round = 0; reply.code === 334; round++) {
    if (round >= MAX_ROUNDS)
      return cancel(session, `the server kept asking after ${MAX_ROUNDS} rounds of ${client.name}`);
    const challenge = decode(reply);
    if (!challenge)
      return cancel(
        session,
        `${client.name}: the server's challenge is not base64: ${excerpt(reply.lines[0] ?? '')}`,
        reply,
      );
    let response: SaslResponse;
    try {
      response = await within(
        session.options.timeouts.command,
        Promise.resolve(client.respond(challenge)),
        client.name,
      );
    } catch (err) {
      if (err instanceof SmtpkitError) throw err;
      return cancel(session, `${client.name}: ${(err as Error).message}`, reply);
    }
    reply = await session.command(response.data, {
      verb: 'AUTH',
      shown: response.secret && !showSecrets ? REDACTED : undefined,
    });
  }
  if (reply.code !== 235)
    throw new SmtpkitError('auth', authFailure(client.name, reply), 'auth', {
      reply,
      ...(reply.code === 534 || reply.code === 504 ? { hint: { kind: 'choose-mechanism' } } : {}),
    });
  try {
    client.finish(successData(reply));
  } catch (err) {
    if (err instanceof SaslError) throw new SmtpkitError('auth', `${client.name}: ${err.message}`, 'auth');
    throw err;
  }
  return reply;
}

/** Cancels the exchange with "*" (RFC 4954 §4) before giving up: nothing more is answered. */
async function cancel(session: SmtpSession, message: string, reply?: Reply): Promise<never> {
  await session.command('*', { verb: 'AUTH' }).catch(() => undefined);
  throw new SmtpkitError('auth', message, 'auth', reply ? { reply } : {});
}

/** A mechanism's own work (SCRAM's PBKDF2) is bounded by the command timeout like any wait. */
function within<T>(ms: number, work: Promise<T>, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SmtpkitError('auth', `${name}: computing the response took longer than ${describeTimeout(ms)}`, 'auth', {
            kind: 'timeout',
            hint: { kind: 'timeout', wait: 'command' },
          }),
        ),
      ms,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** The challenge, or undefined when the text is not base64 (RFC 4954 §4: it must be). */
function decode(reply: Reply): Buffer | undefined {
  const text = (reply.lines[0] ?? '').trim();
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

/** Some servers put SCRAM's server-final message in the 235 itself. */
function successData(reply: Reply): Buffer | undefined {
  const word = replyText(reply).split(/\s+/).pop() ?? '';
  const data = /^[A-Za-z0-9+/]+=*$/.test(word) ? Buffer.from(word, 'base64') : undefined;
  return data && /^[ve]=/.test(data.toString('latin1')) ? data : undefined;
}

/** Tells "wrong credentials" apart from "cannot log in here like this". */
function authFailure(mechanism: string, reply: Reply): string {
  const said = `${reply.code} ${replyText(reply)}`;
  if (reply.code === 535) return `the server rejected the credentials (${said})`;
  if (reply.code === 534) return `${mechanism} is too weak for this account (${said})`;
  if (reply.code === 538) return `${mechanism} needs TLS first (${said})`;
  if (reply.code === 504) return `the server does not accept ${mechanism} (${said})`;
  if (reply.code === 503) return `AUTH is not allowed at this point (${said})`;
  if (reply.code === 454 || reply.code === 432) return `temporary authentication failure (${said})`;
  return `authentication failed (${said})`;
}
