import { formatTarget } from '../protocol/target.js';
import { replyText } from '../protocol/reply.js';
import { runSession, type Flags } from '../flows/run.js';

/** Connect, read the greeting, QUIT; with -i, the interactive session instead. */
export async function connect(spec: string, flags: Flags & { interactive?: boolean }): Promise<number> {
  if (flags.interactive) return (await import('../repl/repl.js')).repl(spec, flags);
  return runSession('connect', spec, flags, async (session) => {
    const greeting = await session.connect();
    const { host, port } = session.options;
    return `${formatTarget(host, port)} greets with ${greeting.code} ${replyText(greeting)} after ${session.elapsed()} ms`;
  });
}
