import { formatTarget } from '../protocol/target.js';
import { applyMx, mxSpec, type MxOption } from './mx-option.js';
import { runSession, type Flags } from '../flows/run.js';

/** Greeting and EHLO (HELO as the fallback); the capabilities are explained by the renderer. */
export function ehlo(spec: string | undefined, flags: Flags & MxOption): Promise<number> {
  return runSession('ehlo', mxSpec(spec, flags), flags, async (session) => {
    await applyMx(session, spec, flags);
    await session.connect();
    const caps = await session.ehlo();
    const n = Object.keys(caps.extensions).length;
    return `${formatTarget(session.currentHost, session.options.port)} answered ${caps.via} with ${n} extension${n === 1 ? '' : 's'}${session.isTls ? ' over TLS' : ''}`;
  });
}
