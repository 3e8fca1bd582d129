import type { Paint } from './paint.js';
import { explainCode } from '../explain/explain.js';
import type { ExplainedInput } from '../explain/pasted.js';
import { printable } from './printable.js';

export { explainInput, type ExplainedInput } from '../explain/pasted.js';

/**
 * One explained reply: the text, the code for its command, the enhanced code, the hint and
 * known causes. With `said` (what the run explained already), an explanation given before
 * (a bounce's recipients refused alike) is referred to, not printed again.
 */
export function explanationLines(item: ExplainedInput, command: string, c: Paint, said?: Set<string>): string[] {
  const { text, reply, explanation: x } = item;
  const cmd = command || item.command;
  const lines = [c.bold(printable(text))];
  const about = [
    item.recipient && `recipient ${item.recipient}`,
    item.remoteMta && `reported by ${item.remoteMta}`,
    item.action && `action ${item.action}`,
    item.status && `DSN status ${item.status}`,
  ].filter(Boolean);
  if (about.length) lines.push(`    ${printable(about.join(', '))}`);
  if (reply)
    lines.push(`    ${c.bold(String(reply.code))}${cmd ? ` (to ${cmd})` : ''}: ${explainCode(reply.code, cmd)}`);
  if (x.enhanced) lines.push(`    ${c.bold(x.enhanced.code)} ${x.enhanced.title}: ${x.enhanced.text}`);
  if (x.note) lines.push(`    note: ${x.note}`);
  for (const cause of item.causes ?? []) {
    lines.push(c.cyan(`    cause: ${cause.title}`));
    const where =
      cause.lookup && cause.lookup === cause.delist
        ? `; look it up and request delisting at ${cause.lookup}`
        : `${cause.lookup ? `; look it up at ${cause.lookup}` : ''}${cause.delist ? `; request delisting at ${cause.delist}` : ''}`;
    lines.push(c.cyan(`      ${cause.advice}${where}`));
  }
  if (x.hint) lines.push(c.yellow(`    try: ${x.hint}`));
  return said ? once(lines, about.length ? 2 : 1, said) : lines;
}

/** The lines after `head` (the explanation proper) the first time only; then a pointer to them. */
function once(lines: string[], head: number, said: Set<string>): string[] {
  const explanation = lines.slice(head).join('\n');
  if (!explanation) return lines;
  if (said.has(explanation)) return [...lines.slice(0, head), '    (explained above)'];
  said.add(explanation);
  return lines;
}
