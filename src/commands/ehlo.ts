import { formatTarget } from '../protocol/target.js';
import type { SmtpSession } from '../session/session.js';
import { applyMx, type MxSpec } from './mx-option.js';

export interface EhloSpec {
  mx: Readonly<MxSpec>;
}

/** Greeting and EHLO (HELO as the fallback); the capabilities are explained by the renderer. */
export async function ehlo(session: SmtpSession, spec: Readonly<EhloSpec>): Promise<string> {
  await applyMx(session, spec.mx);
  await session.connect();
  const caps = await session.ehlo();
  const n = Object.keys(caps.extensions).length;
  return `${formatTarget(session.currentHost, session.options.port)} answered ${caps.via} with ${n} extension${n === 1 ? '' : 's'}${session.isTls ? ' over TLS' : ''}`;
}
