import { SmtpkitError } from '../errors.js';
import { formatTarget } from '../protocol/target.js';
import type { SmtpSession } from '../session/session.js';

/**
 * Ctrl-C during a wait for the server: what was given up on, and why the connection went
 * with it. Exit 5, as for a connection closed while a command waits.
 */
export function stoppedWaiting(awaiting: NonNullable<SmtpSession['awaiting']>): SmtpkitError {
  const dot = 'reply' in awaiting && awaiting.reply === '.';
  const what =
    'handshake' in awaiting
      ? 'the TLS handshake'
      : dot
        ? 'the reply to the end of the message (".")'
        : `the reply to ${awaiting.reply}`;
  return new SmtpkitError(
    'protocol',
    `stopped waiting for ${what} (Ctrl-C) and closed the connection, without QUIT: ${'handshake' in awaiting ? 'a connection whose TLS handshake was abandoned cannot carry anything more' : "once a reply is abandoned the session's state is unknown (SMTP cannot skip a reply)"}${dot ? '; whether the message was accepted is unknown' : ''}`,
    undefined,
    { kind: 'interrupted' },
  );
}

/**
 * Connects and reads the greeting; at a terminal, Ctrl-C gives up at once, with a line
 * saying so (exit 4, as for no greeting). The terminal is still in line mode here, so
 * Ctrl-C comes as SIGINT (and the terminal drops what was typed meanwhile).
 */
export async function connectInterruptibly(session: SmtpSession, interactive: boolean): Promise<void> {
  if (!interactive) return void (await session.connect());
  let stop = () => {};
  const stopped = new Promise<never>((_, reject) => {
    stop = () => {
      const awaiting = session.awaiting;
      const what =
        awaiting === undefined
          ? `connecting to ${formatTarget(session.options.host, session.options.port)}`
          : 'handshake' in awaiting
            ? 'waiting for the TLS handshake'
            : 'waiting for the greeting';
      session.abandon();
      reject(
        new SmtpkitError('connect', `stopped ${what} (Ctrl-C)`, awaiting ? 'banner' : 'connect', {
          kind: 'interrupted',
        }),
      );
    };
  });
  process.once('SIGINT', stop);
  const connected = session.connect();
  try {
    await Promise.race([connected, stopped]);
  } finally {
    process.off('SIGINT', stop);
    // Given up on: it fails as the connection closes under it, and nobody listens.
    connected.catch(() => {});
  }
}
