import { commandVerb } from '../protocol/command.js';
import { explainInput, explanationLines } from '../render/explanation.js';
import { jsonDocument } from '../render/json.js';
import { processOutput } from '../render/output.js';
import { printable } from '../render/printable.js';
import { failureOutcome } from '../flows/run.js';

export interface ExplainFlags {
  command?: string;
  json?: boolean;
  color?: boolean;
}

/** `smtpkit explain 550 5.7.1`, `explain 5.7.26`, or a whole reply line pasted from a bounce. */
export async function explain(words: string[], flags: ExplainFlags): Promise<number> {
  const output = await processOutput(flags);
  try {
    const command = flags.command ? commandVerb(flags.command) : '';
    const input = explainInput(words.join(' '), command);
    if (flags.json) {
      const { text, reply, explanation } = input;
      // The envelope's `command` is smtpkit's; the SMTP command the reply answered is `verb`.
      output.stdout.write(jsonDocument('explain', null, { ok: true, exitCode: 0, message: 'explained' }, { input: text, verb: command || null, code: reply?.code ?? null, enhanced: reply ? reply.enhanced : text, explanation }));
    } else {
      output.stdout.write(`${explanationLines(input, command, output.paint).join('\n')}\n`);
    }
    return 0;
  } catch (err) {
    const o = failureOutcome(err);
    output.stderr.write(`smtpkit: ${printable(o.message)}\n`);
    return o.exitCode;
  }
}
