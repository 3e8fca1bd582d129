import { MailboxStop, type LineClient } from './line-client.js';
import { converse, upgrade, type Limits, type MailboxConversation, type ServiceEndpoint } from './conversation.js';

/** Lines read while waiting for one tagged answer, at most: untagged noise is not read forever. */
const MAX_UNTAGGED = 64;

/**
 * IMAP as far as judging access needs (RFC 9051, RFC 3501 §6.2.3): the greeting, then on a
 * plaintext port CAPABILITY and STARTTLS when offered; on 993 the greeting after the
 * handshake. Never logs in: whether LOGIN works in plaintext is read from LOGINDISABLED.
 */
export function talkImap(e: ServiceEndpoint, limits: Limits): Promise<MailboxConversation> {
  return converse(e, limits, async (c, facts) => {
    facts.greeting = await c.readLine();
    if (!/^\* (OK|PREAUTH)\b/i.test(facts.greeting)) return;
    if (!e.implicitTls) {
      const { untagged, done } = await tagged(c, 'a1', 'CAPABILITY');
      facts.capabilities = untagged
        .filter((l) => /^\* CAPABILITY /i.test(l))
        .flatMap((l) => l.slice(13).trim().toUpperCase().split(/\s+/));
      if (!/^a1 OK\b/i.test(done)) facts.capabilities = undefined;
      if (facts.capabilities?.includes('STARTTLS')) {
        const answer = (await tagged(c, 'a2', 'STARTTLS')).done;
        facts.tls = /^a2 OK\b/i.test(answer) ? await upgrade(c) : `refused: ${answer}`;
      }
    }
    c.write('a9 LOGOUT');
  });
}

/**
 * The untagged lines and the tagged answer to `command`. More untagged lines end the
 * conversation: taking the missing answer for a refusal would be the server's choice of verdict.
 */
async function tagged(c: LineClient, tag: string, command: string): Promise<{ untagged: string[]; done: string }> {
  c.write(`${tag} ${command}`);
  const untagged: string[] = [];
  for (;;) {
    const line = await c.readLine();
    if (line.toLowerCase().startsWith(`${tag} `)) return { untagged, done: line };
    if (untagged.length === MAX_UNTAGGED)
      throw new MailboxStop(
        'too-long',
        `the reply to ${command} is too long: no tagged answer within ${MAX_UNTAGGED} lines, so the conversation stops there`,
      );
    untagged.push(line);
  }
}
