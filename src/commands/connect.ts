import { formatTarget } from '../protocol/target.js';
import { replyText } from '../protocol/reply.js';
import { runSession, type Flags } from './run.js';

/** Connect, read the greeting, QUIT. */
export function connect(spec: string, flags: Flags): Promise<number> {
  return runSession('connect', spec, flags, async (session) => {
    const greeting = await session.connect();
    const { host, port } = session.options;
    return `${formatTarget(host, port)} greets with ${greeting.code} ${replyText(greeting)} after ${session.elapsed()} ms`;
  });
}
