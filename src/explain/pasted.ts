import { usageError } from '../errors.js';
import { commandVerb } from '../protocol/command.js';
import { ReplyParser, replyText, type Reply } from '../protocol/reply.js';
import { causesFor, type Cause } from './causes.js';
import { explainEnhanced, explainReply, type Explanation } from './explain.js';
import { hintFor } from './hints.js';

/** One reply (or status) found in what a person pasted, explained. */
export interface ExplainedInput {
  /** The text it was read from (one line; continuation lines joined). */
  text: string;
  reply: Reply | undefined;
  /** The command it answered: given with --command, or read from the bounce ("in reply to RCPT TO command"). */
  command: string;
  explanation: Explanation;
  causes: Cause[];
  /** From a DSN (RFC 3464): whom and which server the report is about. */
  recipient?: string;
  remoteMta?: string;
  /** The DSN's Status: field, when it differs from the reply's enhanced code or there is no reply. */
  status?: string;
  action?: string;
}

const LONE_ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}$/;
const REPLY_START = /^([2-5][0-5]\d)(?:([ -])(.*))?$/s;
// A DSN per-recipient field (RFC 3464 §2.3) or the usual Postfix/Exim extras.
const DSN_FIELD = /^(final-recipient|original-recipient|action|status|remote-mta|diagnostic-code|x-postfix-sender|reporting-mta)\s*:\s*(.*)$/i;
const MAX_ITEMS = 100;

/**
 * Reads what people paste: a code ("550"), a pair ("550 5.7.1"), a lone enhanced code, a
 * reply line with or without continuation markers ("550-5.7.1 ..."), a line prefixed with
 * "#" or "Status:", or a whole bounce/DSN message. Returns every reply found, explained.
 */
export function explainPasted(input: string, command = ''): ExplainedInput[] {
  const lines = input
    .split(/\r?\n/)
    // Quoting ("> "), comments ("# "), and the reply markers of swaks and our own transcript ("<** ", "<~  ").
    .map((l) => l.replace(/^\s*(?:>\s?)+/, '').replace(/^\s*#+\s*/, '').replace(/^\s*<(?:\*\*|~\*|-|~)\s+(?=\d{3}[ -]|\d{3}$)/, ''))
    .slice(0, 20_000);
  const whole = lines.join('\n').trim();
  if (!whole) throw unreadable(input);
  const items = fromDsn(lines, command);
  if (!items.length) items.push(...fromText(lines, command));
  if (!items.length) throw unreadable(input);
  return items.slice(0, MAX_ITEMS);
}

/** The first item alone, for callers that explain one reply (the REPL's `explain`). */
export function explainInput(input: string, command: string): ExplainedInput {
  return explainPasted(input, command)[0]!;
}

const unreadable = (input: string) =>
  usageError(
    `cannot read ${JSON.stringify(input.trim().slice(0, 200))} as a reply: give a code (550), an enhanced code (5.7.1), a reply line (550 5.7.1 Relay access denied), or a bounce message on standard input (smtpkit explain - < bounce.eml)`,
  );

interface DsnGroup {
  recipient?: string;
  action?: string;
  status?: string;
  remoteMta?: string;
  diagnostic?: string;
}

/** RFC 3464 fields, folded lines unfolded, one group per recipient. */
function fromDsn(lines: string[], command: string): ExplainedInput[] {
  const groups: DsnGroup[] = [];
  let current: DsnGroup = {};
  let last: keyof DsnGroup | undefined;
  const flush = () => {
    if (current.status || current.diagnostic) groups.push(current);
    current = {};
  };
  for (const raw of lines) {
    if (/^[ \t]/.test(raw) && last && raw.trim()) {
      current[last] = `${current[last] ?? ''} ${raw.trim()}`;
      continue;
    }
    last = undefined;
    const m = DSN_FIELD.exec(raw.trim());
    if (!m) continue;
    const name = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    const key: keyof DsnGroup | undefined =
      name === 'final-recipient' ? 'recipient' : name === 'action' ? 'action' : name === 'status' ? 'status' : name === 'remote-mta' ? 'remoteMta' : name === 'diagnostic-code' ? 'diagnostic' : undefined;
    if (!key) continue;
    // A new recipient, or a field seen twice, starts the next group.
    if (key === 'recipient' || current[key] !== undefined) flush();
    current[key] = value;
    last = key;
  }
  flush();
  const items: ExplainedInput[] = [];
  for (const g of groups) {
    const typed = (v: string | undefined) => v?.replace(/^[\w-]+\s*;\s*/, '').trim();
    const status = /^([245]\.\d{1,3}\.\d{1,3})/.exec(g.status?.trim() ?? '')?.[1];
    const diagnostic = typed(g.diagnostic);
    const context = { recipient: typed(g.recipient), remoteMta: typed(g.remoteMta), action: g.action?.trim() };
    const item = diagnostic ? replyItem(diagnostic, command) : undefined;
    if (item) {
      items.push(withContext({ ...item, ...(status && status !== item.reply?.enhanced ? { status } : {}) }, context));
    } else if (status) {
      items.push(withContext(enhancedItem(g.status!.trim(), status, command), context));
    } else if (diagnostic) {
      // A diagnostic that is no SMTP reply (a local delivery error): explain the words.
      const causes = causesFor(undefined, null, diagnostic);
      if (causes.length) items.push(withContext({ text: diagnostic, reply: undefined, command, explanation: { summary: '', enhanced: null, hint: null }, causes }, context));
    }
  }
  return items;
}

function withContext(item: ExplainedInput, c: { recipient?: string; remoteMta?: string; action?: string }): ExplainedInput {
  return { ...item, ...(c.recipient ? { recipient: c.recipient } : {}), ...(c.remoteMta ? { remoteMta: c.remoteMta } : {}), ...(c.action ? { action: c.action } : {}) };
}

/**
 * Replies in free text: whole lines that are replies (with their continuation lines), a
 * line prefixed "Status:", Postfix's "said: 550 ..." and Exchange's "returned '550 ...'".
 */
function fromText(lines: string[], command: string): ExplainedInput[] {
  const items: ExplainedInput[] = [];
  let previous = '';
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    const status = /^status\s*:\s*([245]\.\d{1,3}\.\d{1,3})\b/i.exec(line);
    if (status) {
      items.push(enhancedItem(line, status[1]!, command));
      previous = line;
      continue;
    }
    if (LONE_ENHANCED.test(line)) {
      items.push(enhancedItem(line, line, command));
      continue;
    }
    // Bare reply lines, Postfix bounces ("said: 550 ..."), Exchange ("returned '550 ..."), and
    // Postfix's log ("NOQUEUE: reject: RCPT from host[ip]: 554 5.7.1 ...; from=<...> to=<...>").
    const logged = /\breject: ([A-Z]+) from \S+?\[[^\]]*\]: ([2-5][0-5]\d[ -].*?)(?:; from=<.*)?$/.exec(line);
    const start = logged ? [line, logged[2]!] : /^(?:.*?\bsaid:\s*|.*?\breturned\s+'|.*?\bdiagnostic-code:\s*(?:smtp;\s*)?)?([2-5][0-5]\d(?:[ -].*)?)$/i.exec(line);
    if (!start || !REPLY_START.test(start[1]!)) {
      previous = line;
      continue;
    }
    // The reply goes on over the following lines: continuation lines of the same code, or
    // wrapped text up to a blank line (Postfix wraps "said:" replies at 80 columns).
    let text = start[1]!.replace(/'\s*$/, '');
    const code = text.slice(0, 3);
    while (i + 1 < lines.length) {
      const raw = lines[i + 1] ?? '';
      const next = raw.trim();
      if (!next || DSN_FIELD.test(next)) break;
      const sameCode = new RegExp(`^${code}[ -]`).test(next);
      if (!sameCode && !/^[ \t]/.test(raw)) break;
      text += `${sameCode ? '\n' : ' '}${next}`;
      i++;
    }
    const item = replyItem(text, command || (logged ? verbOf(logged[1]!) : commandFrom(`${previous} ${text}`)));
    if (item) items.push(item);
    previous = line;
    if (items.length >= MAX_ITEMS) break;
  }
  return items;
}

function verbOf(word: string): string {
  try {
    return commandVerb(word);
  } catch {
    return '';
  }
}

/** The command a bounce says the reply answered ("in reply to RCPT TO command", "after end of data"). */
function commandFrom(text: string): string {
  const m = /in reply to (?:the )?(end of data|[A-Z]+(?: (?:TO|FROM))?)\b/i.exec(text) ?? /\bafter (?:pipelined )?(end of data|RCPT TO|MAIL FROM|DATA|EHLO|HELO|STARTTLS|AUTH)\b/i.exec(text);
  if (!m) return '';
  const said = m[1]!.toUpperCase();
  if (said === 'END OF DATA') return '.';
  try {
    return commandVerb(said);
  } catch {
    return '';
  }
}

/**
 * One reply from text that may hold several lines of it: "550-5.7.1 a\n550 5.7.1 b",
 * the same joined on one line, or a lone continuation line ("550-5.7.1 ..."). The
 * "(in reply to X command)" trailer of Postfix bounces is dropped from the text.
 */
function replyItem(text: string, command: string): ExplainedInput | undefined {
  const flat = text.replace(/\s*\(in reply to [^)]*\)\s*$/i, '').trim();
  const m = REPLY_START.exec(flat);
  if (!m) return undefined;
  const code = m[1]!;
  // Split into the lines of the reply wherever the same code starts again.
  // With an enhanced code, only "CODE ENH" starts a line, so "550 bytes" in the text stays text.
  const enhanced = /^[245]\.\d{1,3}\.\d{1,3}(?=\s|$)/.exec(m[3] ?? '')?.[0];
  const next = enhanced ? `\\s+${code}[ -](?=${enhanced.replace(/\./g, '\\.')}(?:\\s|$))` : `\\s*\\n${code}[ -]`;
  const parts = (m[3] ?? '').split(new RegExp(next)).map((p) => p.trim());
  const wire = parts.map((p, i) => `${code}${i < parts.length - 1 ? '-' : ' '}${p}`).join('\r\n');
  let reply: Reply | undefined;
  try {
    [reply] = new ReplyParser().push(Buffer.from(`${wire}\r\n`));
  } catch {
    return undefined;
  }
  if (!reply) return undefined;
  const cmd = command || commandFrom(text);
  const body = replyText(reply);
  return { text: flat.replace(/\s*\n\s*/g, ' '), reply, command: cmd, explanation: explainReply(reply, cmd), causes: causesFor(reply.code, reply.enhanced, body) };
}

function enhancedItem(text: string, enhanced: string, command: string): ExplainedInput {
  const code = Number(enhanced[0]) * 100 + 50;
  const rest = text.replace(/^status\s*:\s*/i, '').replace(enhanced, '').trim();
  return {
    text,
    reply: undefined,
    command,
    explanation: { summary: '', enhanced: explainEnhanced(enhanced) ?? null, hint: hintFor({ code, enhanced, command, text: rest, tls: false }) ?? null },
    causes: causesFor(undefined, enhanced, rest),
  };
}
