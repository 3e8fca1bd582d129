import { usageError } from '../errors.js';
import { explainPasted, type ExplainedInput } from '../explain/pasted.js';
import { commandVerb } from '../protocol/command.js';
import { explanationLines } from '../render/explanation.js';
import { jsonDocument } from '../render/json.js';
import { processOutput } from '../render/output.js';
import { failureOutcome } from '../flows/run.js';
import { commandLineError } from '../render/usage.js';
import { classified } from '../render/print-outcome.js';

export interface ExplainFlags {
  command?: string;
  json?: boolean;
  color?: boolean;
}

/** A bounce is a few KiB; more than this is not something pasted. */
const MAX_STDIN_BYTES = 4 * 1024 * 1024;

/**
 * `smtpkit explain 550 5.7.1`, `explain 5.7.26`, a pasted reply line, or a whole bounce
 * (`explain -` or no argument with standard input not a terminal).
 */
export async function explain(words: string[], flags: ExplainFlags): Promise<number> {
  const output = await processOutput(flags);
  try {
    const command = flags.command ? commandVerb(flags.command) : '';
    const fromStdin = (words.length === 1 && words[0] === '-') || (!words.length && !process.stdin.isTTY);
    if (!words.length && !fromStdin)
      throw usageError(
        'give a reply to explain (550 5.7.1), or a bounce on standard input: smtpkit explain - < bounce.eml',
      );
    const text = fromStdin ? await readStdin() : words.join(' ');
    const items = explainPasted(text, command);
    if (flags.json) {
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
  } catch (err) {
    const o = failureOutcome(err);
    // With --json a script parses stdout: the failure is the document too, as in every command.
    if (flags.json) output.stdout.write(jsonDocument('explain', null, classified(o), { items: [] }));
    else output.stderr.write(commandLineError(o.message));
    return o.exitCode;
  }
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

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_STDIN_BYTES)
      throw usageError(
        `standard input is over ${MAX_STDIN_BYTES / 1024 / 1024} MiB: give the bounce message, not a mailbox`,
      );
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}
