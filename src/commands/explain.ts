import { commandVerb } from '../protocol/command.js';
import { explainInput, explanationLines } from '../render/explanation.js';
import { paint } from '../render/paint.js';
import { failureOutcome } from '../flows/run.js';

export interface ExplainFlags {
  command?: string;
  json?: boolean;
  color?: boolean;
}

/** `smtpkit explain 550 5.7.1`, `explain 5.7.26`, or a whole reply line pasted from a bounce. */
export async function explain(words: string[], flags: ExplainFlags): Promise<number> {
  try {
    const command = flags.command ? commandVerb(flags.command) : '';
    const input = explainInput(words.join(' '), command);
    if (flags.json) {
      const { text, reply, explanation } = input;
      process.stdout.write(`${JSON.stringify({ schema: 'smtpkit/1', input: text, command: command || null, code: reply?.code ?? null, enhanced: reply ? reply.enhanced : text, explanation }, null, 2)}\n`);
    } else {
      process.stdout.write(`${explanationLines(input, command, await paint(flags)).join('\n')}\n`);
    }
    return 0;
  } catch (err) {
    const o = failureOutcome(err);
    process.stderr.write(`smtpkit: ${o.message}\n`);
    return o.exitCode;
  }
}
