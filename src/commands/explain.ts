import type { Outcome } from '../errors.js';
import { explainPasted, type ExplainedInput } from '../explain/pasted.js';
import { explanationLines } from '../render/explanation.js';
import { jsonDocument } from '../render/json.js';
import type { Output, OutputSpec } from '../render/output.js';
import { commandLineError } from '../render/usage.js';
import { classified } from '../render/print-outcome.js';

export interface ExplainSpec {
  /** What to explain: reply codes, a pasted reply, or a whole bounce. */
  text: string;
  /** The SMTP command the reply answered ('' when not said). */
  command: string;
}

/**
 * `smtpkit explain 550 5.7.1`, `explain 5.7.26`, a pasted reply line, or a whole bounce
 * (`explain -` or no argument with standard input not a terminal).
 */
export function explain(spec: Readonly<ExplainSpec>, show: Readonly<Pick<OutputSpec, 'json'>>, output: Output): number {
  const { command } = spec;
  const items = explainPasted(spec.text, command);
  if (show.json) {
    // The envelope's `command` is smtpkit's; the SMTP command a reply answered is `verb`.
    // The first item's fields stand at the top too, as they did when explain read one reply.
    output.stdout.write(
      jsonDocument(
        'explain',
        null,
        { ok: true, exitCode: 0, message: 'explained' },
        { ...jsonItem(items[0]!), items: items.map(jsonItem) },
      ),
    );
  } else {
    const said = new Set<string>();
    output.stdout.write(
      `${items.map((item) => explanationLines(item, command, output.paint, said).join('\n')).join('\n\n')}\n`,
    );
  }
  return 0;
}

/** With --json a script parses stdout: the failure is the document too, as in every command. */
export function explainFailure(o: Outcome, show: Readonly<Pick<OutputSpec, 'json'>>, output: Output): number {
  if (show.json) output.stdout.write(jsonDocument('explain', null, classified(o), { items: [] }));
  else output.stderr.write(commandLineError(o.message));
  return o.exitCode;
}

function jsonItem(i: ExplainedInput) {
  return {
    input: i.text,
    verb: i.command || null,
    code: i.reply?.code ?? null,
    enhanced: i.reply ? i.reply.enhanced : (i.explanation.enhanced?.code ?? null),
    ...(i.recipient ? { recipient: i.recipient } : {}),
    ...(i.remoteMta ? { remoteMta: i.remoteMta } : {}),
    ...(i.action ? { action: i.action } : {}),
    ...(i.status ? { status: i.status } : {}),
    explanation: i.explanation,
    causes: i.causes,
  };
}
