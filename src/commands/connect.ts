import { formatTarget } from '../protocol/target.js';
import { replyText } from '../protocol/reply.js';
import type { SmtpSession } from '../session/session.js';

/** Connect, read the greeting, QUIT (connect -i runs the REPL instead: src/cli/commands.ts). */
export async function connect(session: SmtpSession): Promise<string> {
  const greeting = await session.connect();
  const { host, port } = session.options;
  return `${formatTarget(host, port)} greets with ${greeting.code} ${replyText(greeting)} after ${session.elapsed()} ms`;
}
