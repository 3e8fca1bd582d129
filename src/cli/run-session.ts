import { jsonReport, type SessionResult } from '../render/json.js';
import { processOutput } from '../render/output.js';
import { writeQuiet } from '../render/print-outcome.js';
import { withAdvice } from '../render/advice.js';
import type { Outcome } from '../render/outcome.js';
import { TextRenderer } from '../render/text.js';
import { commandLineError } from '../render/usage.js';
import type { Target } from '../protocol/target.js';
import type { SmtpEvent } from '../session/events.js';
import { SmtpSession } from '../session/session.js';
import { failureOutcome } from '../render/failure.js';
import { saveCertificates } from './save-cert.js';
import { connectionSpec, type ConnectionFlags, type ConnectionSpec } from './groups/connection.js';
import { outputSpec, type OutputFlags } from './groups/output.js';

/** A command's work on one session: drives it, fills in JSON's `result`, and returns the success line. */
export type SessionScript<S> = (session: SmtpSession, spec: S, result: SessionResult) => Promise<string>;

export interface SessionRun<S> {
  command: string;
  /** The server as given; '' when none was (ehlo --mx: the command's spec names the hosts). */
  server: string;
  flags: ConnectionFlags & OutputFlags;
  defaultPort?: number;
  /**
   * The command's own option groups, read once the session exists: a mistake there is said
   * in the session's transcript, like any failure after connecting was decided.
   */
  spec: (session: SmtpSession, connection: Readonly<ConnectionSpec>) => S | Promise<S>;
  script: SessionScript<S>;
  observe?: (e: SmtpEvent) => void;
}

/**
 * Runs one session for a person or a script: reads the connection and output groups, wires
 * the renderer, runs the command's script, always says goodbye, and turns any failure into
 * an exit code.
 */
export async function runSession<S>(run: SessionRun<S>): Promise<number> {
  const { command, observe } = run;
  const startedAt = new Date().toISOString();
  const events: SmtpEvent[] = [];
  const details: SessionResult = {};
  const show = outputSpec(run.flags);
  const output = await processOutput(show);
  const text =
    show.json || show.quiet
      ? undefined
      : new TextRenderer(output.stdout, output.stderr, {
          paint: output.paint,
          detail: show.brief ? 'brief' : 'full',
          audience: command === 'repl' ? 'repl' : 'cli',
        });
  let session: SmtpSession | undefined;
  let connection: Readonly<ConnectionSpec> | undefined;
  let target: Target | undefined;
  let outcome: Outcome;
  try {
    connection = connectionSpec(run.server, run.flags, run.defaultPort);
    target = connection.target;
    session = new SmtpSession(connection.options, (e) => {
      events.push(e);
      observe?.(e);
      text?.event(e);
    });
    const spec = await run.spec(session, connection);
    const message = await run.script(session, spec, details);
    outcome = { ok: true, exitCode: 0, message };
  } catch (err) {
    outcome = failureOutcome(err);
  }
  // Saved on failure too: an untrusted chain is what one wants to look at.
  const saveCert = connection?.saveCert;
  if (saveCert && session) {
    try {
      const n = saveCertificates(saveCert, [{ label: run.server, chain: session.certificates }]);
      session.emit(
        n
          ? {
              type: 'info',
              message: `Saved the certificate chain (${n} certificate${n === 1 ? '' : 's'}, leaf first) to ${saveCert}`,
            }
          : {
              type: 'warning',
              message: `no certificate to save: the session never reached TLS (${saveCert} is empty)`,
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
  if (show.json) {
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
  } else if (show.quiet) {
    writeQuiet(output, outcome);
  } else {
    text?.outcome(outcome, session?.timings ?? {});
  }
  return outcome.exitCode;
}
