import { Chalk } from 'chalk';
import { usageError } from '../errors.js';
import { explainCode, explainEnhanced, explainReply } from '../explain/explain.js';
import { hintFor } from '../explain/hints.js';
import { commandVerb } from '../protocol/command.js';
import { ReplyParser, type Reply } from '../protocol/reply.js';
import { printable } from '../render/printable.js';
import { colorLevel, failureOutcome } from './run.js';

export interface ExplainFlags {
  command?: string;
  json?: boolean;
  color?: boolean;
}

/** `smtpkit explain 550 5.7.1`, `explain 5.7.26`, or a whole reply line pasted from a bounce. */
export async function explain(words: string[], flags: ExplainFlags): Promise<number> {
  try {
    const text = words.join(' ').trim();
    const command = flags.command ? commandVerb(flags.command) : '';
    const enhancedOnly = /^([245]\.\d{1,3}\.\d{1,3})$/.exec(text);
    let reply: Reply | undefined;
    if (!enhancedOnly) {
      try {
        [reply] = new ReplyParser().push(Buffer.from(`${text}\n`));
      } catch {
        reply = undefined;
      }
      if (!reply) throw usageError(`cannot read ${JSON.stringify(text)} as a reply: give a code (550), an enhanced code (5.7.1), or a reply line (550 5.7.1 Relay access denied)`);
    }
    const x = reply
      ? explainReply(reply, command)
      : { summary: null, enhanced: explainEnhanced(text) ?? null, hint: hintFor({ code: Number(text[0]) * 100 + 50, enhanced: text, command, text: '', tls: false }) ?? null };
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ schema: 'smtpkit/1', input: text, command: command || null, code: reply?.code ?? null, enhanced: reply?.enhanced ?? text, explanation: x }, null, 2)}\n`);
      return 0;
    }
    const c = new Chalk({ level: colorLevel(flags) });
    const out = (s: string) => process.stdout.write(`${s}\n`);
    out(c.bold(printable(text)));
    if (reply) out(`    ${c.bold(String(reply.code))}${command ? ` (to ${command})` : ''}: ${explainCode(reply.code, command)}`);
    if (x.enhanced) out(`    ${c.bold(x.enhanced.code)} ${x.enhanced.title}: ${x.enhanced.text}`);
    if (x.hint) out(c.yellow(`    try: ${x.hint}`));
    return 0;
  } catch (err) {
    const o = failureOutcome(err);
    process.stderr.write(`smtpkit: ${o.message}\n`);
    return o.exitCode;
  }
}
