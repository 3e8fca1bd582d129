import { SmtpkitError } from '../errors.js';
import { replyText, type Reply } from '../protocol/reply.js';
import { SaslError, type SaslClient, type SaslResponse } from '../sasl/mechanism.js';
import type { SmtpSession } from './session.js';

const MAX_ROUNDS = 10;
export const REDACTED = '<redacted>';

/**
 * Runs one AUTH exchange (RFC 4954). Lines that carry a secret show as `<redacted>`
 * unless `showSecrets`. Failure of any kind is an auth error (exit 7).
 */
export async function authenticate(session: SmtpSession, client: SaslClient, showSecrets: boolean): Promise<Reply> {
  const initial = client.initial();
  const first = initial ? `AUTH ${client.name} ${initial.data || '='}` : `AUTH ${client.name}`;
  let reply = await session.command(first, { phase: 'auth', shown: initial?.secret && !showSecrets ? `AUTH ${client.name} ${REDACTED}` : undefined });
  // Cancel the exchange (RFC 4954 §4) before giving up, or the next command would be taken as a response.
  const cancel = () => session.command('*', { phase: 'auth', verb: 'AUTH' }).catch(() => undefined);
  for (let round = 0; reply.code === 334; round++) {
    if (round >= MAX_ROUNDS) {
      await cancel();
      throw new SmtpkitError('auth', `the server kept asking after ${MAX_ROUNDS} rounds of ${client.name}`, 'auth');
    }
    let response: SaslResponse;
    try {
      response = client.respond(decode(reply));
    } catch (err) {
      await cancel();
      throw new SmtpkitError('auth', `${client.name}: ${(err as Error).message}`, 'auth');
    }
    reply = await session.command(response.data, { phase: 'auth', verb: 'AUTH', shown: response.secret && !showSecrets ? REDACTED : undefined });
  }
  if (reply.code !== 235) throw new SmtpkitError('auth', authFailure(client.name, reply), 'auth');
  try {
    client.finish(successData(reply));
  } catch (err) {
    if (err instanceof SaslError) throw new SmtpkitError('auth', `${client.name}: ${err.message}`, 'auth');
    throw err;
  }
  return reply;
}

function decode(reply: Reply): Buffer {
  return Buffer.from((reply.lines[0] ?? '').trim(), 'base64');
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
  if (reply.code === 534) return `${mechanism} is too weak for this account (${said}); choose another with --mech`;
  if (reply.code === 538) return `${mechanism} needs TLS first (${said})`;
  if (reply.code === 504) return `the server does not accept ${mechanism} (${said})`;
  if (reply.code === 503) return `AUTH is not allowed at this point (${said})`;
  if (reply.code === 454 || reply.code === 432) return `temporary authentication failure (${said})`;
  return `authentication failed (${said})`;
}
