import { SmtpkitError } from '../errors.js';
import type { SmtpEvent } from '../session/events.js';
import type { SmtpSession } from '../session/session.js';
import { describeTimeout } from '../util/duration.js';

/** The whole probe's time limit: `expired` rejects when it passes (and the session is closed). */
export interface Deadline {
  readonly expired: Promise<never>;
  readonly passed: boolean;
  clear(): void;
}

/** The whole probe, whatever each wait allows, ends at --timeout: the step then running names the failure. */
export function probeDeadline(session: SmtpSession, events: SmtpEvent[], totalMs: number): Deadline {
  let passed = false;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      passed = true;
      reject(deadlineError(session, events, totalMs));
      session.close();
    }, totalMs);
  });
  return {
    expired,
    get passed() {
      return passed;
    },
    clear: () => clearTimeout(timer),
  };
}

/**
 * Out of time: the failure is that of the step that was running. Before the greeting it is
 * a connection failure (exit 4), in the handshake a TLS one (6), after it a protocol one (5).
 */
function deadlineError(session: SmtpSession, events: SmtpEvent[], totalMs: number): SmtpkitError {
  const within = `within ${describeTimeout(totalMs)}`;
  const details = { kind: 'timeout' } as const;
  if (session.currentPhase === 'tls')
    return new SmtpkitError(
      'tls',
      `the probe did not finish ${within} (--timeout): the TLS handshake was still running`,
      'tls',
      details,
    );
  const greeted = events.some((e) => e.type === 'reply' && e.command === 'CONNECT');
  if (!greeted)
    return new SmtpkitError(
      'connect',
      `the probe did not finish ${within} (--timeout): no greeting`,
      'banner',
      details,
    );
  return new SmtpkitError('protocol', `the probe did not finish ${within} (--timeout)`, session.currentPhase, details);
}
