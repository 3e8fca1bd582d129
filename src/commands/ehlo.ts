import { formatTarget } from '../protocol/target.js';
import { runSession, type Flags } from './run.js';

/** Greeting and EHLO (HELO as the fallback); the capabilities are explained by the renderer. */
export function ehlo(spec: string, flags: Flags): Promise<number> {
  return runSession('ehlo', spec, flags, async (session) => {
    await session.connect();
    const caps = await session.ehlo();
    const n = Object.keys(caps.extensions).length;
    const { host, port } = session.options;
    return `${formatTarget(host, port)} answered ${caps.via} with ${n} extension${n === 1 ? '' : 's'}${session.isTls ? ' over TLS' : ''}`;
  });
}
