import { SmtpkitError } from '../errors.js';
import { jsonReport } from '../render/json.js';
import { processOutput, writer } from '../render/output.js';
import { writeQuiet } from '../render/print-outcome.js';
import { withAdvice } from '../render/advice.js';
import type { Outcome } from '../render/outcome.js';
import { TextRenderer } from '../render/text.js';
import type { Target } from '../protocol/target.js';
import type { SmtpEvent } from '../session/events.js';
import { SmtpSession } from '../session/session.js';
import { sessionOptions, type OutputFlags, type SessionFlags } from './options.js';
import { checkSaveCert, saveCertificates } from './save-cert.js';
import { commandLineError } from '../render/usage.js';

export type Flags = SessionFlags & OutputFlags;

/** What a command found beyond the session itself (recipients, queue id ...): JSON's `result`. */
export type Details = Record<string, unknown>;

/** A command's script: drives the session, fills in details, and returns the success line. */
export type Script = (session: SmtpSession, details: Details) => Promise<string>;

export { colorLevel } from '../render/paint.js';

/**
 * Runs one session for a command: validates flags, wires the renderer, runs the script,
 * always says goodbye, and turns any failure into an exit code.
 */
export async function runSession(
  command: string,
  spec: string,
  flags: Flags,
  script: Script,
  defaultPort = 25,
  observe?: (e: SmtpEvent) => void,
): Promise<number> {
  const startedAt = new Date().toISOString();
  const events: SmtpEvent[] = [];
  const details: Details = {};
  const output = await processOutput(flags);
  const text =
    flags.json || flags.quiet
      ? undefined
      : new TextRenderer(output.stdout, output.stderr, {
          paint: output.paint,
          detail: flags.brief ? 'brief' : 'full',
          audience: command === 'repl' ? 'repl' : 'cli',
        });
  let session: SmtpSession | undefined;
  let target: Target | undefined;
  let outcome: Outcome;
  try {
    const parsed = sessionOptions(spec, flags, defaultPort);
    checkSaveCert(flags.saveCert);
    target = parsed.target;
    session = new SmtpSession(parsed.options, (e) => {
      events.push(e);
      observe?.(e);
      text?.event(e);
    });
    const message = await script(session, details);
    outcome = { ok: true, exitCode: 0, message };
  } catch (err) {
    outcome = failureOutcome(err);
  }
  // Saved on failure too: an untrusted chain is what one wants to look at.
  if (flags.saveCert && session) {
    try {
      const n = saveCertificates(flags.saveCert, [{ label: spec, chain: session.certificates }]);
      session.emit(
        n
          ? {
              type: 'info',
              message: `Saved the certificate chain (${n} certificate${n === 1 ? '' : 's'}, leaf first) to ${flags.saveCert}`,
            }
          : {
              type: 'warning',
              message: `no certificate to save: the session never reached TLS (${flags.saveCert} is empty)`,
            },
      );
    } catch (err) {
      if (outcome.ok) outcome = failureOutcome(err);
    }
  }
  await session?.quit();
  // The commands had their answers, but the server also said something nobody asked for.
  if (outcome.ok && session?.brokenBy) outcome = failureOutcome(session.brokenBy);
  if (!outcome.ok) {
    const error = {
      type: 'error',
      errorClass: outcome.errorClass ?? 'internal',
      message: outcome.message,
      ...(outcome.phase ? { phase: outcome.phase } : {}),
      ...(outcome.hint ? { hint: outcome.hint } : {}),
      ...(outcome.reply ? { reply: outcome.reply } : {}),
    } as const;
    if (session) session.emit(error);
    // No session yet: the command line was wrong (the REPL's too, whose own usage errors are session events).
    else if (text && error.errorClass === 'usage')
      output.stderr.write(commandLineError(withAdvice(error.message, outcome.hint)));
    else text?.event({ t: 0, tls: false, ...error } as SmtpEvent);
  }
  if (flags.json) {
    output.stdout.write(
      jsonReport({
        command,
        target,
        startedAt,
        outcome,
        events,
        result: details,
        capabilities: session?.capabilities,
        tls: session?.tls,
        timings: session?.timings ?? {},
      }),
    );
  } else if (flags.quiet) {
    writeQuiet(output, outcome);
  } else {
    text?.outcome(outcome, session?.timings ?? {});
  }
  return outcome.exitCode;
}

export const INTERNAL_ERROR_EXIT = 70;

export function failureOutcome(err: unknown): Outcome {
  if (err instanceof SmtpkitError) {
    return {
      ok: false,
      exitCode: err.exitCode,
      message: err.message,
      errorClass: err.errorClass,
      ...(err.phase ? { phase: err.phase } : {}),
      ...(err.kind !== 'other' ? { kind: err.kind } : {}),
      ...(err.reply ? { reply: err.reply } : {}),
      ...(err.hint ? { hint: err.hint } : {}),
    };
  }
  // Not a failure we foresaw: a bug. Say so plainly; the stack only on request.
  const message = `internal error: ${(err as Error)?.message ?? String(err)} (this is a bug in smtpkit; SMTPKIT_DEBUG=1 shows details)`;
  if (process.env.SMTPKIT_DEBUG) writer(process.stderr).write(`${(err as Error)?.stack ?? err}\n`);
  return { ok: false, exitCode: INTERNAL_ERROR_EXIT, message, errorClass: 'internal' };
}
