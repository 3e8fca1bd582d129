import { hasExtension } from '../protocol/capabilities.js';
import type { EventSink } from '../session/events.js';
import { SmtpSession, type SessionOptions } from '../session/session.js';

/**
 * A new connection for a test that must not inherit the probe's state (AUTH, error counts):
 * greeting, EHLO, and STARTTLS when offered and the probe used TLS. Never logs in.
 */
export async function freshSession(options: SessionOptions, sink: EventSink, withTls: boolean): Promise<SmtpSession> {
  const session = new SmtpSession(options, sink);
  try {
    if (withTls) session.expectTls();
    await session.connect();
    const caps = await session.ehlo();
    if (withTls && !session.isTls && hasExtension(caps, 'STARTTLS')) await session.starttls();
    return session;
  } catch (err) {
    session.close();
    throw err;
  }
}

/** Runs `steps` over as few fresh sessions as the server allows: `perSession` at most on each, a new one after a failure. */
export async function inBatches<T, R>(
  items: T[],
  perSession: number,
  open: () => Promise<SmtpSession>,
  step: (s: SmtpSession, item: T) => Promise<R>,
  onError: (item: T, err: unknown) => R,
): Promise<R[]> {
  const out: R[] = [];
  let session: SmtpSession | undefined;
  let used = 0;
  for (const item of items) {
    try {
      if (!session || used >= perSession || !session.isOpen) {
        await session?.quit();
        session = await open();
        used = 0;
      }
      used++;
      out.push(await step(session, item));
    } catch (err) {
      out.push(onError(item, err));
      session?.close();
      session = undefined;
    }
  }
  await session?.quit();
  return out;
}
