import { MailboxStop, type LineClient } from './line-client.js';
import { converse, upgrade, type Limits, type MailboxConversation, type ServiceEndpoint } from './conversation.js';

/** A user nobody has, and no password is ever sent: the answer to USER is all that is asked. */
export const PROBE_USER = 'smtpkit-probe-nobody';
/** Capability lines read, at most: real servers list about ten. */
const MAX_CAPA = 64;

/**
 * POP3 as far as judging access needs (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS): on a
 * plaintext port CAPA, USER with a made-up name (a server that wants TLS first refuses it),
 * then STLS; on 995 the greeting after the handshake. PASS is never sent.
 */
export function talkPop3(e: ServiceEndpoint, limits: Limits): Promise<MailboxConversation> {
  return converse(e, limits, async (c, facts) => {
    facts.greeting = await c.readLine();
    if (!/^\+OK\b/i.test(facts.greeting)) return;
    if (!e.implicitTls) {
      c.write('CAPA');
      if (/^\+OK\b/i.test(await c.readLine())) facts.capabilities = await capa(c);
      c.write(`USER ${PROBE_USER}`);
      facts.userReply = await c.readLine();
      // USER taken: stop there (the next step would be the password).
      if (/^\+OK\b/i.test(facts.userReply)) return void c.write('QUIT');
      c.write('STLS');
      const answer = await c.readLine();
      facts.tls = /^\+OK\b/i.test(answer) ? await upgrade(c) : `refused: ${answer}`;
    }
    c.write('QUIT');
  });
}

/**
 * The CAPA list to its closing "." (RFC 2449 §5). A longer list ends the conversation: its
 * remaining lines would be taken for the answers to USER and STLS. The line and byte caps
 * of the connection bound each line and the whole.
 */
async function capa(c: LineClient): Promise<string[]> {
  const tags: string[] = [];
  for (;;) {
    const line = await c.readLine();
    if (line === '.') return tags;
    if (tags.length === MAX_CAPA)
      throw new MailboxStop(
        'too-long',
        `the reply to CAPA is too long: no closing "." within ${MAX_CAPA} lines, so the conversation stops there`,
      );
    tags.push(line.trim().split(/\s+/)[0]!.toUpperCase());
  }
}
