import type { DaneResult } from '../../flows/mx-targets.js';
import type { Capabilities } from '../../protocol/capabilities.js';
import type { Reply } from '../../protocol/reply.js';
import type { ScanResult } from '../../scan/scan.js';
import type { SmtpEvent } from '../../session/events.js';
import type { SmtpSession } from '../../session/session.js';
import { freshSession } from '../fresh-session.js';
import type { ProbeSettings, ProbeTarget } from '../probe-input.js';
import type { Check, CheckStatus } from '../result.js';
import { certificatePolicy, type CertificatePolicy } from './certificate-policy.js';
import type { CheckName } from './names.js';

/**
 * What checks share while one probe runs. The connection checks fill in what later ones
 * read (the greeting, the capabilities seen in clear); everything else is the probe's input.
 */
export interface CheckContext {
  readonly target: ProbeTarget;
  readonly settings: ProbeSettings;
  readonly session: SmtpSession;
  /** Every event of the probe, fresh sessions' too: the transcript. */
  readonly events: SmtpEvent[];
  /** The greeting, once the connect check has it. */
  greeting?: Reply;
  /** The EHLO answer before any STARTTLS, and whether the connection was TLS from the start. */
  plain?: { capabilities: Capabilities; implicitTls: boolean };
  /** probe --tls-scan: the whole scan, kept for the result. */
  scan?: ScanResult;
  /** For the checks of the finished probe: the server's time, and smtpkit's own waits left out of it. */
  elapsed?: { responseMs: number; ownMs: number };
  /** With --dane: the TLSA records and what they decided. */
  readonly dane: (() => DaneResult | undefined) | undefined;
}

/**
 * A check as a value: the names it reports (one, or a family that shares a connection or a
 * scan), when it applies, and how it runs. `stage: 'end'` checks judge the finished probe
 * after QUIT, and only when nothing stopped it.
 */
export interface ProbeCheck<N extends CheckName = CheckName> {
  readonly names: readonly N[];
  readonly stage?: 'end';
  /**
   * Runs on connections of its own beside the rows after it (the cipher scan: its many
   * handshakes need not wait for the relay and enumeration tests, nor they for it); its
   * checks keep their place in the table, and the stage ends when it has.
   */
  readonly beside?: true;
  when(s: ProbeSettings, ctx: CheckContext): boolean;
  run(ctx: CheckContext): Promise<Check<N>[]> | Check<N>[];
  /** Said to the server once the check is reported (RSET after the envelope). */
  after?(ctx: CheckContext): Promise<unknown>;
}

export const check = <N extends CheckName>(name: N, status: CheckStatus, message: string): Check<N> => ({
  name,
  status,
  message,
});

/** A context for running checks on `session` (by probe(), or one check at a time by another engine). */
export function checkContext(
  target: ProbeTarget,
  settings: ProbeSettings,
  session: SmtpSession,
  events: SmtpEvent[],
  dane?: () => DaneResult | undefined,
): CheckContext {
  return { target, settings, session, events, dane };
}

/** Whether DANE has had its say: TLSA records that authenticated, mismatched, or could not be looked up. */
const daneDecided = (ctx: CheckContext) =>
  ['authenticated', 'mismatch', 'lookup-failed'].includes(ctx.dane?.()?.status ?? '');

/** The rule judging the certificate now. With --tls-verify the session itself stops at a bad one (exit 6). */
export function policyOf(ctx: CheckContext): CertificatePolicy {
  const { target } = ctx;
  return certificatePolicy(target.options.port, {
    verify: target.options.tls.verify,
    dane: daneDecided(ctx),
    mtaStsEnforce: target.mtaStsEnforce,
    mx: target.mx,
  });
}

/** The address the probe's connection reached, if it got that far. */
export const connectedAddress = (ctx: CheckContext): string | undefined =>
  ctx.events.find((e): e is Extract<SmtpEvent, { type: 'connected' }> => e.type === 'connected')?.remoteAddress;

/** A new connection for a check that must not inherit the probe's state; its events join the transcript. */
export const openFresh = (ctx: CheckContext) => () =>
  freshSession(ctx.target.options, (e) => ctx.events.push(e), ctx.session.isTls);

/** What the connection checks set, for the checks after them: a missing one is a table out of order. */
export function needed<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`probe check table: ${what} is read before the check that sets it`);
  return value;
}
