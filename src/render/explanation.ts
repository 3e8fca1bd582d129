import type { Paint } from './paint.js';
import { usageError } from '../errors.js';
import { explainCode, explainEnhanced, explainReply, type Explanation } from '../explain/explain.js';
import { hintFor } from '../explain/hints.js';
import { ReplyParser, type Reply } from '../protocol/reply.js';
import { printable } from './printable.js';

export interface ExplainedInput {
  text: string;
  reply: Reply | undefined;
  explanation: Explanation;
}

/** Reads what a person pasted: "550", "550 5.7.1 ...", or a lone "5.7.26". */
export function explainInput(input: string, command: string): ExplainedInput {
  const text = input.trim();
  if (/^[245]\.\d{1,3}\.\d{1,3}$/.test(text)) {
    const code = Number(text[0]) * 100 + 50;
    return { text, reply: undefined, explanation: { summary: '', enhanced: explainEnhanced(text) ?? null, hint: hintFor({ code, enhanced: text, command, text: '', tls: false }) ?? null } };
  }
  let reply: Reply | undefined;
  try {
    [reply] = new ReplyParser().push(Buffer.from(`${text}\n`));
  } catch {
    reply = undefined;
  }
  if (!reply) throw usageError(`cannot read ${JSON.stringify(text)} as a reply: give a code (550), an enhanced code (5.7.1), or a reply line (550 5.7.1 Relay access denied)`);
  return { text, reply, explanation: explainReply(reply, command) };
}

export function explanationLines({ text, reply, explanation: x }: ExplainedInput, command: string, c: Paint): string[] {
  const lines = [c.bold(printable(text))];
  if (reply) lines.push(`    ${c.bold(String(reply.code))}${command ? ` (to ${command})` : ''}: ${explainCode(reply.code, command)}`);
  if (x.enhanced) lines.push(`    ${c.bold(x.enhanced.code)} ${x.enhanced.title}: ${x.enhanced.text}`);
  if (x.hint) lines.push(c.yellow(`    try: ${x.hint}`));
  return lines;
}
